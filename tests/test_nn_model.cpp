// Tests of the whole model: the Keras weight layout and summary, glorot_uniform init, a
// double-precision gradient check of a sample of every tensor's parameters, float vs double
// agreement, and the trainer's usage (chunked accumulation, short and empty batches).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <set>
#include <vector>

#include "fmnist/model.hpp"

namespace fmnist {
namespace {

constexpr std::size_t kPixels = 28 * 28;

std::vector<double> random_images(int n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> dist(0, 1);
  std::vector<double> x(n * kPixels);
  for (double& v : x) v = dist(rng);
  return x;
}

template <typename T>
std::vector<T> cast(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

double glorot(const TensorSpec& t) {
  double receptive = 1;
  for (std::size_t i = 0; i + 2 < t.shape.size(); ++i) receptive *= t.shape[i];
  return std::sqrt(6.0 / (receptive * t.shape[t.shape.size() - 2] + receptive * t.shape.back()));
}

TEST(ModelLayout, WeightTensorsInKerasOrder) {
  const auto& t = weight_tensors();
  ASSERT_EQ(t.size(), 10u);
  const std::vector<std::string> names = {
      "conv2d/kernel:0",   "conv2d/bias:0", "conv2d_1/kernel:0", "conv2d_1/bias:0",
      "conv2d_2/kernel:0", "conv2d_2/bias:0", "dense/kernel:0",  "dense/bias:0",
      "dense_1/kernel:0",  "dense_1/bias:0"};
  const std::vector<std::vector<int>> shapes = {{3, 3, 1, 32}, {32}, {3, 3, 32, 64}, {64},
                                                {3, 3, 64, 64}, {64}, {576, 64}, {64},
                                                {64, 10},       {10}};
  const std::vector<std::string> layers = {"conv2d", "conv2d",   "conv2d_1", "conv2d_1",
                                           "conv2d_2", "conv2d_2", "dense",  "dense",
                                           "dense_1", "dense_1"};
  std::size_t offset = 0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    EXPECT_EQ(t[i].name, names[i]);
    EXPECT_EQ(t[i].layer, layers[i]);
    EXPECT_EQ(t[i].shape, shapes[i]);
    EXPECT_EQ(t[i].offset, offset);
    std::size_t size = 1;
    for (int d : shapes[i]) size *= std::size_t(d);
    EXPECT_EQ(t[i].size, size);
    offset += size;
  }
  EXPECT_EQ(offset, 93322u);
  EXPECT_EQ(kNumParams, 93322u);
  EXPECT_EQ(Model<float>(1).num_params(), 93322u);
  EXPECT_EQ(t[2].offset, 320u);
  EXPECT_EQ(t[9].offset, 93312u);
}

TEST(ModelLayout, LayerSpecs) {
  const auto& l = layer_specs();
  ASSERT_EQ(l.size(), 8u);
  const std::vector<std::string> names = {"conv2d",   "max_pooling2d", "conv2d_1", "max_pooling2d_1",
                                          "conv2d_2", "flatten",       "dense",    "dense_1"};
  const std::vector<std::string> types = {"Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D",
                                          "Conv2D", "Flatten",      "Dense",  "Dense"};
  const std::vector<std::vector<int>> shapes = {{26, 26, 32}, {13, 13, 32}, {11, 11, 64},
                                                {5, 5, 64},   {3, 3, 64},   {576},
                                                {64},         {10}};
  const std::vector<std::size_t> params = {320, 0, 18496, 0, 36928, 0, 36928, 650};
  std::size_t total = 0;
  for (std::size_t i = 0; i < l.size(); ++i) {
    EXPECT_EQ(l[i].name, names[i]);
    EXPECT_EQ(l[i].type, types[i]);
    EXPECT_EQ(l[i].output_shape, shapes[i]);
    EXPECT_EQ(l[i].params, params[i]);
    std::size_t from_tensors = 0;
    for (const TensorSpec& t : weight_tensors()) {
      if (t.layer == l[i].name) from_tensors += t.size;
    }
    EXPECT_EQ(from_tensors, params[i]) << names[i];
    total += l[i].params;
  }
  EXPECT_EQ(total, kNumParams);
}

TEST(ModelLayout, SummaryLooksLikeKeras) {
  const std::string s = model_summary();
  for (const char* text : {"Layer (type)", "Output Shape", "Param #", "conv2d (Conv2D)",
                           "max_pooling2d_1 (MaxPooling2D)", "flatten (Flatten)", "dense_1 (Dense)",
                           "(None, 26, 26, 32)", "(None, 576)", "18,496", "36,928",
                           "Total params: 93,322", "Trainable params: 93,322",
                           "Non-trainable params: 0"}) {
    EXPECT_NE(s.find(text), std::string::npos) << "missing: " << text << "\n" << s;
  }
}

TEST(ModelInit, GlorotUniformLimitsAndZeroBiases) {
  Model<double> model(1);
  model.init(42);
  for (const TensorSpec& t : weight_tensors()) {
    const double* w = model.params() + t.offset;
    if (t.shape.size() == 1) {
      EXPECT_TRUE(std::all_of(w, w + t.size, [](double v) { return v == 0; })) << t.name;
      continue;
    }
    const double limit = glorot(t);
    double max_abs = 0, sum = 0, sum_sq = 0;
    for (std::size_t i = 0; i < t.size; ++i) {
      ASSERT_LE(std::abs(w[i]), limit) << t.name;
      max_abs = std::max(max_abs, std::abs(w[i]));
      sum += w[i];
      sum_sq += w[i] * w[i];
    }
    const double n = double(t.size);
    EXPECT_GT(max_abs, 0.97 * limit) << t.name;
    EXPECT_LE(std::abs(sum / n), 5 * limit / std::sqrt(3 * n)) << t.name;  // 5 sigma
    EXPECT_NEAR(sum_sq / n, limit * limit / 3, 0.2 * limit * limit / 3) << t.name;
  }
  EXPECT_NEAR(glorot(weight_tensors()[2]), std::sqrt(6.0 / (288 + 576)), 1e-15);
}

TEST(ModelInit, DeterministicPerSeedAndSameInFloat) {
  Model<float> a(1), b(1), c(1);
  Model<double> d(1);
  a.init(7);
  b.init(7);
  c.init(8);
  d.init(7);
  EXPECT_TRUE(std::equal(a.params(), a.params() + kNumParams, b.params()));
  EXPECT_FALSE(std::equal(a.params(), a.params() + kNumParams, c.params()));
  for (std::size_t i = 0; i < kNumParams; ++i) ASSERT_EQ(a.params()[i], float(d.params()[i])) << i;
  std::set<float> distinct(a.params(), a.params() + 320);
  EXPECT_GT(distinct.size(), 280u);
}

// The whole-model gradient check: accumulate_gradients against central differences of the
// loss sum, for a random sample of entries of every tensor (all of them for the small ones).
TEST(ModelGradient, MatchesCentralDifferencesInDouble) {
  const int n = 3;
  Model<double> model(4);
  model.init(5);
  // Small nonzero biases so that no bias gradient is trivially tested at a symmetric point.
  std::mt19937_64 rng(99);
  std::uniform_real_distribution<double> small(-0.05, 0.05);
  for (const TensorSpec& t : weight_tensors()) {
    if (t.shape.size() == 1) {
      for (std::size_t i = 0; i < t.size; ++i) model.params()[t.offset + i] = small(rng);
    }
  }
  const auto x = random_images(n, 1);
  const std::vector<std::uint8_t> labels = {2, 7, 0};
  model.zero_grads();
  model.accumulate_gradients(x.data(), labels.data(), n);
  const std::vector<double> analytic(model.grads(), model.grads() + kNumParams);

  // A perturbation that crosses a ReLU or max-pool kink makes the central difference meaningless
  // (a first-layer weight moves ~20,000 downstream pre-activations). Such points are detected by
  // two step sizes disagreeing and skipped; a real gradient error shows at both step sizes.
  constexpr double kEps = 1e-6, kWideEps = 3e-6;
  constexpr std::size_t kSamples = 40;
  auto central = [&](double& w, double eps) {
    const double saved = w;
    w = saved + eps;
    const double up = model.evaluate(x.data(), labels.data(), n).loss_sum;
    w = saved - eps;
    const double down = model.evaluate(x.data(), labels.data(), n).loss_sum;
    w = saved;
    return (up - down) / (2 * eps);
  };
  int checked = 0, skipped = 0;
  for (const TensorSpec& t : weight_tensors()) {
    std::vector<std::size_t> picks(t.size);
    for (std::size_t i = 0; i < t.size; ++i) picks[i] = t.offset + i;
    std::shuffle(picks.begin(), picks.end(), rng);
    picks.resize(std::min(picks.size(), kSamples));
    double largest = 0;
    for (std::size_t p : picks) {
      const double numeric = central(model.params()[p], kEps);
      const double wide = central(model.params()[p], kWideEps);
      const double scale = std::max({std::abs(numeric), std::abs(analytic[p]), 1e-2});
      if (std::abs(numeric - wide) / scale > 1e-6) {
        ++skipped;
        continue;
      }
      EXPECT_LE(std::abs(numeric - analytic[p]) / scale, 1e-6)
          << t.name << " [" << p - t.offset << "]: numeric " << numeric << " analytic "
          << analytic[p];
      largest = std::max(largest, std::abs(analytic[p]));
      ++checked;
    }
    EXPECT_GT(largest, 1e-4) << t.name << ": the sample saw no gradient at all";
  }
  RecordProperty("kinks_skipped", skipped);
  EXPECT_LE(skipped, 10) << "too many kinks: the check is not measuring anything";
  EXPECT_GT(checked, 300);
}

TEST(ModelGradient, AccumulatesAndSplitsIntoChunks) {
  const int n = 6;
  Model<double> model(4);
  model.init(3);
  const auto x = random_images(n, 2);
  const std::vector<std::uint8_t> labels = {1, 3, 5, 7, 9, 0};
  Model<double> whole(n);
  std::copy(model.params(), model.params() + kNumParams, whole.params());
  whole.zero_grads();
  const BatchStats all = whole.accumulate_gradients(x.data(), labels.data(), n);

  model.zero_grads();
  const BatchStats first = model.accumulate_gradients(x.data(), labels.data(), 4);
  const BatchStats second = model.accumulate_gradients(x.data() + 4 * kPixels, labels.data() + 4, 2);
  EXPECT_NEAR(first.loss_sum + second.loss_sum, all.loss_sum, 1e-12);
  EXPECT_EQ(first.correct + second.correct, all.correct);
  double max_diff = 0, max_abs = 0;
  for (std::size_t i = 0; i < kNumParams; ++i) {
    max_diff = std::max(max_diff, std::abs(model.grads()[i] - whole.grads()[i]));
    max_abs = std::max(max_abs, std::abs(whole.grads()[i]));
  }
  EXPECT_GT(max_abs, 0);
  EXPECT_LE(max_diff, 1e-12 * max_abs);

  // The same batch twice adds the same gradient twice (accumulate, never overwrite).
  whole.accumulate_gradients(x.data(), labels.data(), n);
  const std::vector<double> twice(whole.grads(), whole.grads() + kNumParams);
  whole.zero_grads();
  EXPECT_TRUE(std::all_of(whole.grads(), whole.grads() + kNumParams, [](double v) { return v == 0; }));
  whole.accumulate_gradients(x.data(), labels.data(), n);
  for (std::size_t i = 0; i < kNumParams; ++i) ASSERT_NEAR(twice[i], 2 * whole.grads()[i], 1e-12);
}

TEST(ModelForward, FloatAgreesWithDouble) {
  const int n = 5;
  Model<float> f(8);
  Model<double> d(8);
  f.init(11);
  d.init(11);
  std::copy(f.params(), f.params() + kNumParams, d.params());  // identical weights
  const auto x = random_images(n, 4);
  const auto xf = cast<float>(x);
  const float* lf = f.forward(xf.data(), n);
  const double* ld = d.forward(x.data(), n);
  double max_abs = 0;
  for (int i = 0; i < n * 10; ++i) max_abs = std::max(max_abs, std::abs(ld[i]));
  EXPECT_GT(max_abs, 1e-3);
  for (int i = 0; i < n * 10; ++i) EXPECT_NEAR(lf[i], ld[i], 1e-5 * (1 + max_abs)) << i;

  const std::vector<std::uint8_t> labels = {0, 1, 2, 3, 4};
  f.zero_grads();
  d.zero_grads();
  const BatchStats sf = f.accumulate_gradients(xf.data(), labels.data(), n);
  const BatchStats sd = d.accumulate_gradients(x.data(), labels.data(), n);
  EXPECT_NEAR(sf.loss_sum, sd.loss_sum, 1e-5 * sd.loss_sum);
  EXPECT_EQ(sf.correct, sd.correct);
  double g_diff = 0, g_abs = 0;
  for (std::size_t i = 0; i < kNumParams; ++i) {
    g_diff = std::max(g_diff, std::abs(double(f.grads()[i]) - d.grads()[i]));
    g_abs = std::max(g_abs, std::abs(d.grads()[i]));
  }
  EXPECT_LE(g_diff, 1e-4 * g_abs);
}

TEST(ModelForward, EvaluateMatchesLogitsAndBatchesAreIndependent) {
  const int n = 7;
  Model<double> model(n);
  model.init(21);
  const auto x = random_images(n, 6);
  const std::vector<std::uint8_t> labels = {0, 1, 2, 3, 4, 5, 6};
  const std::vector<double> logits(model.forward(x.data(), n), model.forward(x.data(), n) + n * 10);
  const BatchStats stats = model.evaluate(x.data(), labels.data(), n);
  double loss = 0;
  std::int64_t correct = 0;
  for (int i = 0; i < n; ++i) {
    const double* l = logits.data() + i * 10;
    const double top = *std::max_element(l, l + 10);
    double sum = 0;
    for (int k = 0; k < 10; ++k) sum += std::exp(l[k] - top);
    loss += top + std::log(sum) - l[labels[i]];
    correct += (std::max_element(l, l + 10) - l) == labels[i];
  }
  EXPECT_NEAR(stats.loss_sum, loss, 1e-12);
  EXPECT_EQ(stats.correct, correct);
  const double* two = model.forward(x.data() + 3 * kPixels, 2);  // images 3 and 4 alone
  for (int i = 0; i < 20; ++i) EXPECT_NEAR(two[i], logits[30 + i], 1e-12);
}

TEST(ModelForward, EmptyBatchAndLimits) {
  Model<float> model(2);
  model.init(1);
  model.zero_grads();
  const std::vector<float> x(3 * kPixels, 0.5f);
  const std::vector<std::uint8_t> labels = {1, 2, 3};
  const BatchStats s = model.accumulate_gradients(x.data(), labels.data(), 0);
  EXPECT_EQ(s.loss_sum, 0);
  EXPECT_EQ(s.correct, 0);
  EXPECT_TRUE(std::all_of(model.grads(), model.grads() + kNumParams, [](float v) { return v == 0; }));
  EXPECT_EQ(model.max_batch(), 2);
  EXPECT_THROW(model.forward(x.data(), 3), std::invalid_argument);
  const std::vector<std::uint8_t> bad = {1, 10};
  EXPECT_THROW(model.evaluate(x.data(), bad.data(), 2), std::invalid_argument);
  EXPECT_THROW(Model<float>(0), std::invalid_argument);
}

}  // namespace
}  // namespace fmnist
