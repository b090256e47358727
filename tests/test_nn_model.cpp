// Tests of the planned model: the tutorial's Keras weight layout and summary, the shapes and
// parameter counts of other specs against hand-computed values, the initializers, double-precision
// gradient checks of whole models of several specs (Dropout with fixed masks), float vs double,
// the fused layers against the same spec taken by the generic path, and the trainer's usage
// (chunked accumulation, Dropout positions, short and empty batches).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <set>
#include <vector>

#include "fmnist/model.hpp"
#include "fmnist/text.hpp"
#include "grad_check.hpp"
#include "test_nn_specs.hpp"

namespace fmnist {
namespace {

using test::cast;
using test::GradientChecker;
using test::image_size;
using test::random_images;

TEST(ModelPlan, TutorialWeightTensorsInKerasOrder) {
  const ModelPlan plan = plan_model(tutorial_model_spec());
  const auto& t = plan.tensors;
  ASSERT_EQ(t.size(), 10u);
  const std::vector<std::string> names = {"conv2d/kernel:0",   "conv2d/bias:0",   "conv2d_1/kernel:0", "conv2d_1/bias:0",
                                          "conv2d_2/kernel:0", "conv2d_2/bias:0", "dense/kernel:0",    "dense/bias:0",
                                          "dense_1/kernel:0",  "dense_1/bias:0"};
  const std::vector<std::vector<int>> shapes = {{3, 3, 1, 32}, {32},     {3, 3, 32, 64}, {64},     {3, 3, 64, 64},
                                                {64},          {576, 64}, {64},          {64, 10}, {10}};
  const std::vector<std::size_t> layers = {0, 0, 2, 2, 4, 4, 6, 6, 7, 7};
  std::size_t offset = 0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    EXPECT_EQ(t[i].name, names[i]);
    EXPECT_EQ(t[i].layer, layers[i]);
    EXPECT_EQ(t[i].shape, shapes[i]);
    EXPECT_EQ(t[i].offset, offset);
    EXPECT_EQ(t[i].initializer, i % 2 ? Initializer::zeros : Initializer::glorot_uniform);
    offset += t[i].size;
  }
  EXPECT_EQ(plan.num_params, 93322u);  // the one golden figure: the Keras tutorial's summary says 93,322
  EXPECT_EQ(offset, plan.num_params);
  EXPECT_EQ(Model<float>(tutorial_model_spec(), 1).num_params(), plan.num_params);
  EXPECT_EQ(t[2].offset, 320u);
  EXPECT_EQ(t[9].offset, 93312u);
  EXPECT_TRUE(plan.softmax_output());
  EXPECT_EQ(plan.classes(), 10);
}

TEST(ModelPlan, TutorialLayers) {
  const ModelPlan plan = plan_model(tutorial_model_spec());
  ASSERT_EQ(plan.layers.size(), 8u);
  const std::vector<std::string> names = {"conv2d",   "max_pooling2d", "conv2d_1", "max_pooling2d_1",
                                          "conv2d_2", "flatten",       "dense",    "dense_1"};
  const std::vector<std::vector<int>> shapes = {{26, 26, 32}, {13, 13, 32}, {11, 11, 64}, {5, 5, 64},
                                                {3, 3, 64},   {576},        {64},         {10}};
  const std::vector<std::size_t> params = {320, 0, 18496, 0, 36928, 0, 36928, 650};
  for (std::size_t i = 0; i < plan.layers.size(); ++i) {
    EXPECT_EQ(plan.spec.layers[i].name, names[i]);
    EXPECT_EQ(plan.layers[i].output_shape, shapes[i]);
    EXPECT_EQ(plan.layers[i].params, params[i]);
  }
  const std::string s = model_summary(plan);
  for (const char* text : {"Layer (type)", "Output Shape", "Param #", "conv2d (Conv2D)", "max_pooling2d_1 (MaxPooling2D)",
                           "flatten (Flatten)", "dense_1 (Dense)", "(None, 26, 26, 32)", "(None, 576)", "18,496", "36,928",
                           "Non-trainable params: 0"}) {
    EXPECT_NE(s.find(text), std::string::npos) << "missing: " << text << "\n" << s;
  }
  for (const char* total : {"Total params: ", "Trainable params: "}) {
    EXPECT_NE(s.find(total + with_commas(plan.num_params) + "\n"), std::string::npos) << total << "\n" << s;
  }
}

TEST(ModelPlan, OtherSpecsMatchHandComputedShapesAndCounts) {
  struct Case {
    ModelSpec spec;
    std::vector<std::vector<int>> shapes;
    std::vector<std::size_t> params;
    std::size_t total;
  };
  const std::vector<Case> cases = {
      {test::wide_same_dropout(),
       {{28, 28, 64}, {14, 14, 64}, {14, 14, 64}, {14, 14, 128}, {7, 7, 128}, {7, 7, 128}, {6272}, {256}, {256}, {10}},
       {640, 0, 0, 73856, 0, 0, 0, 1605888, 0, 2570},
       1682954},
      {test::strided_average(), {{12, 12, 16}, {6, 6, 16}, {6, 6, 8}, {6, 6, 8}, {288}, {10}}, {416, 0, 128, 0, 0, 2890}, 3434},
      {test::mlp(), {{784}, {128}, {128}, {10}}, {0, 100480, 0, 1290}, 101770},
  };
  for (const Case& c : cases) {
    const ModelPlan plan = plan_model(c.spec);
    ASSERT_EQ(plan.layers.size(), c.shapes.size());
    for (std::size_t i = 0; i < c.shapes.size(); ++i) {
      EXPECT_EQ(plan.layers[i].output_shape, c.shapes[i]) << c.spec.layers[i].name;
      EXPECT_EQ(plan.layers[i].params, c.params[i]) << c.spec.layers[i].name;
    }
    EXPECT_EQ(plan.num_params, c.total);
  }
  // No bias: one tensor; the bias of the next layer follows right after its kernel.
  const ModelPlan strided = plan_model(test::strided_average());
  ASSERT_EQ(strided.tensors.size(), 5u);
  EXPECT_EQ(strided.tensors[2].name, "conv2d_1/kernel:0");
  EXPECT_EQ(strided.tensors[3].name, "dense/kernel:0");
  EXPECT_EQ(strided.tensors[3].offset, 416u + 128u);
  EXPECT_FALSE(strided.softmax_output());
  // A name wider than its summary column still leaves a space before the shape.
  const std::string summary = model_summary(strided);
  EXPECT_NE(summary.find("average_pooling2d (AveragePooling2D) (None, 6, 6, 16)"), std::string::npos) << summary;
}

// ---- Initialisation -----------------------------------------------------------------------------

TEST(ModelInit, EachInitializerHasKerasLimitsAndSpread) {
  Model<double> model(test::strided_average(), 1);
  model.init(42);
  const ModelPlan& plan = model.plan();
  // conv2d: he_uniform over fan_in 25: limit sqrt(6 / 25); dense: he_normal over fan_in 288,
  // stddev sqrt(2 / 288) / 0.8796..., truncated at two of them; conv2d_1: glorot over 16 + 8.
  const double he_limit = std::sqrt(6.0 / 25), he_sd = std::sqrt(2.0 / 288) / 0.87962566103423978;
  const double glorot = std::sqrt(6.0 / (16 + 8));
  auto stats = [&](std::size_t tensor) {
    const TensorSpec& t = plan.tensors[tensor];
    const double* w = model.params() + t.offset;
    double max_abs = 0, sum_sq = 0;
    for (std::size_t i = 0; i < t.size; ++i) {
      max_abs = std::max(max_abs, std::abs(w[i]));
      sum_sq += w[i] * w[i];
    }
    return std::pair<double, double>(max_abs, std::sqrt(sum_sq / double(t.size)));
  };
  auto [conv_max, conv_rms] = stats(0);
  EXPECT_LE(conv_max, he_limit);
  EXPECT_GT(conv_max, 0.9 * he_limit);
  EXPECT_NEAR(conv_rms, he_limit / std::sqrt(3.0), 0.1 * he_limit);
  EXPECT_TRUE(std::all_of(model.params() + plan.tensors[1].offset, model.params() + plan.tensors[1].offset + 16,
                          [](double v) { return v == 0; }));
  auto [mid_max, mid_rms] = stats(2);
  EXPECT_LE(mid_max, glorot);
  auto [dense_max, dense_rms] = stats(3);
  EXPECT_LE(dense_max, 2 * he_sd);
  EXPECT_GT(dense_max, 1.8 * he_sd);
  // A normal truncated at 2 stddevs has stddev 0.8796... of the untruncated one: sqrt(2 / fan_in).
  EXPECT_NEAR(dense_rms, std::sqrt(2.0 / 288), 0.05 * std::sqrt(2.0 / 288));
}

TEST(ModelInit, TutorialGlorotLimitsDeterministicPerSeedAndSameInFloat) {
  Model<float> a(tutorial_model_spec(), 1), b(tutorial_model_spec(), 1), c(tutorial_model_spec(), 1);
  Model<double> d(tutorial_model_spec(), 1);
  a.init(7);
  b.init(7);
  c.init(8);
  d.init(7);
  const std::size_t n = a.num_params();
  EXPECT_TRUE(std::equal(a.params(), a.params() + n, b.params()));
  EXPECT_FALSE(std::equal(a.params(), a.params() + n, c.params()));
  for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(a.params()[i], float(d.params()[i])) << i;
  std::set<float> distinct(a.params(), a.params() + 320);
  EXPECT_GT(distinct.size(), 280u);
  const double limit = std::sqrt(6.0 / (288 + 576));  // conv2d_1: fans 9 * 32 and 9 * 64
  const TensorSpec& t = a.plan().tensors[2];
  const auto [lo, hi] = std::minmax_element(a.params() + t.offset, a.params() + t.offset + t.size);
  EXPECT_GE(*lo, -limit);
  EXPECT_LE(*hi, limit);
  EXPECT_LT(*lo, -0.99 * limit);
}

// ---- Whole-model gradients ----------------------------------------------------------------------

// accumulate_gradients against central differences of the loss sum (in training mode, with the
// same Dropout masks, the loss's label smoothing), for a sample of every tensor's entries; small
// nonzero biases.
void check_model_gradient(const ModelSpec& spec, int n, std::size_t sample, std::uint64_t seed,
                          double label_smoothing = 0) {
  SCOPED_TRACE(spec.layers.front().name + " ... " + std::to_string(spec.layers.size()) + " layers");
  Model<double> model(spec, n);
  model.init(seed);
  model.set_label_smoothing(label_smoothing);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> small(-0.05, 0.05);
  for (const TensorSpec& t : model.plan().tensors) {
    if (t.shape.size() == 1) {
      for (std::size_t i = 0; i < t.size; ++i) model.params()[t.offset + i] = small(rng);
    }
  }
  const auto x = random_images(spec, n, seed + 1);
  std::vector<std::uint8_t> labels(n);
  for (int i = 0; i < n; ++i) labels[i] = std::uint8_t((3 * i + 2) % model.plan().classes());
  const DropoutContext at{seed, 3, 8};
  model.zero_grads();
  model.accumulate_gradients(x.data(), labels.data(), n, at);
  const std::vector<double> analytic(model.grads(), model.grads() + model.num_params());
  auto loss = [&] { return model.evaluate(x.data(), labels.data(), n, &at).loss_sum; };
  // A first-layer weight moves thousands of pre-activations: a small step meets fewer kinks.
  const GradientChecker checker{.step = 1e-6, .floor = 1e-2, .sample = sample};
  for (const TensorSpec& t : model.plan().tensors) {
    const auto r = checker.check(model.params() + t.offset, analytic.data() + t.offset, t.size, loss, t.name, seed);
    EXPECT_GT(r.largest, 1e-5) << t.name << ": the sample saw no gradient at all";
  }
}

TEST(ModelGradient, TutorialMatchesCentralDifferences) { check_model_gradient(tutorial_model_spec(), 3, 40, 5); }

TEST(ModelGradient, OtherSpecsMatchCentralDifferences) {
  // The wide model at a smaller input (the same layers, faster), with its three Dropouts.
  ModelSpec wide = test::wide_same_dropout();
  wide.input_shape = {10, 9, 2};
  wide.layers[0].units = wide.layers[3].units = 6;
  wide.layers[7].units = 12;
  check_model_gradient(wide, 3, 30, 6);
  check_model_gradient(test::strided_average(), 3, 30, 7);
  ModelSpec mlp = test::mlp();
  mlp.input_shape = {6, 5, 1};
  check_model_gradient(mlp, 4, 30, 8);
}

// Label smoothing reaches the model's loss and gradient (training and evaluation alike).
TEST(ModelGradient, LabelSmoothingMatchesCentralDifferences) {
  check_model_gradient(test::strided_average(), 3, 30, 9, 0.2);
  Model<double> model(test::strided_average(), 2);
  model.init(9);
  const auto x = random_images(test::strided_average(), 2, 10);
  const std::uint8_t labels[2] = {1, 4};
  const double plain = model.evaluate(x.data(), labels, 2).loss_sum;
  model.set_label_smoothing(0.2);
  EXPECT_GT(std::abs(model.evaluate(x.data(), labels, 2).loss_sum - plain), 1e-3);  // the control: it changes the loss
}

// The same function through the fused layers and through the generic ones: the tutorial, and the
// tutorial with each conv's ReLU as an Activation layer of its own, which the fusion pattern does
// not match (Conv2D linear -> Activation relu -> MaxPooling2D). Same weights, same gradients.
TEST(ModelForward, FusedAndGenericPathsAgree) {
  ModelSpec generic = tutorial_model_spec();
  for (std::size_t i : {0, 2}) generic.layers[i].activation = Activation::linear;
  generic.layers.insert(generic.layers.begin() + 3, test::simple(LayerKind::activation, "relu_1", 0, Activation::relu));
  generic.layers.insert(generic.layers.begin() + 1, test::simple(LayerKind::activation, "relu_0", 0, Activation::relu));
  Model<double> fused(tutorial_model_spec(), 4), plain(generic, 4);
  ASSERT_EQ(fused.num_params(), plain.num_params());
  fused.init(9);
  std::copy(fused.params(), fused.params() + fused.num_params(), plain.params());
  const auto x = random_images(generic, 4, 10);
  const std::vector<std::uint8_t> labels = {1, 4, 7, 9};
  fused.zero_grads();
  plain.zero_grads();
  const BatchStats a = fused.accumulate_gradients(x.data(), labels.data(), 4, {});
  const BatchStats b = plain.accumulate_gradients(x.data(), labels.data(), 4, {});
  EXPECT_NEAR(a.loss_sum, b.loss_sum, 1e-12);
  const std::vector<double> ga(fused.grads(), fused.grads() + fused.num_params());
  EXPECT_LE(test::max_rel_diff(ga, std::vector<double>(plain.grads(), plain.grads() + plain.num_params())), 1e-12);
}

TEST(ModelForward, FloatAgreesWithDouble) {
  for (const ModelSpec& spec : {tutorial_model_spec(), test::strided_average()}) {
    const int n = 5;
    Model<float> f(spec, 8);
    Model<double> d(spec, 8);
    f.init(11);
    std::copy(f.params(), f.params() + f.num_params(), d.params());  // identical weights
    const auto x = random_images(spec, n, 4);
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
    const BatchStats sf = f.accumulate_gradients(xf.data(), labels.data(), n, {});
    const BatchStats sd = d.accumulate_gradients(x.data(), labels.data(), n, {});
    EXPECT_NEAR(sf.loss_sum, sd.loss_sum, 1e-5 * sd.loss_sum);
    EXPECT_EQ(sf.correct, sd.correct);
    const std::vector<float> gf(f.grads(), f.grads() + f.num_params());
    EXPECT_LE(test::max_rel_diff(gf, std::vector<double>(d.grads(), d.grads() + d.num_params())), 1e-4);
  }
}

// ---- As the trainer uses it ---------------------------------------------------------------------

// A batch in two chunks adds up to the batch at once, with Dropout too: each chunk passes the
// position of its first sample, so every sample keeps its mask.
TEST(ModelGradient, AccumulatesAndSplitsIntoChunks) {
  for (const ModelSpec& spec : {tutorial_model_spec(), test::mlp()}) {
    const int n = 6;
    Model<double> model(spec, 4), whole(spec, n);
    model.init(3);
    std::copy(model.params(), model.params() + model.num_params(), whole.params());
    const auto x = random_images(spec, n, 2);
    const std::vector<std::uint8_t> labels = {1, 3, 5, 7, 9, 0};
    const DropoutContext at{5, 2, 10};
    whole.zero_grads();
    const BatchStats all = whole.accumulate_gradients(x.data(), labels.data(), n, at);
    model.zero_grads();
    const BatchStats first = model.accumulate_gradients(x.data(), labels.data(), 4, at);
    const BatchStats second = model.accumulate_gradients(x.data() + 4 * image_size(spec), labels.data() + 4, 2, {5, 2, 14});
    EXPECT_NEAR(first.loss_sum + second.loss_sum, all.loss_sum, 1e-12);
    EXPECT_EQ(first.correct + second.correct, all.correct);
    const std::vector<double> split(model.grads(), model.grads() + model.num_params());
    EXPECT_LE(test::max_rel_diff(split, std::vector<double>(whole.grads(), whole.grads() + whole.num_params())), 1e-12);
    // ... and a wrong position for the second chunk changes the gradient if the model has Dropout.
    model.zero_grads();
    model.accumulate_gradients(x.data(), labels.data(), 4, at);
    model.accumulate_gradients(x.data() + 4 * image_size(spec), labels.data() + 4, 2, {5, 2, 0});
    const std::vector<double> moved(model.grads(), model.grads() + model.num_params());
    const bool has_dropout = std::any_of(spec.layers.begin(), spec.layers.end(),
                                         [](const LayerSpec& l) { return l.kind == LayerKind::dropout; });
    EXPECT_EQ(moved == split, !has_dropout);
    // The same batch twice adds the same gradient twice (accumulate, never overwrite).
    whole.accumulate_gradients(x.data(), labels.data(), n, at);
    const std::vector<double> twice(whole.grads(), whole.grads() + whole.num_params());
    whole.zero_grads();
    EXPECT_TRUE(std::all_of(whole.grads(), whole.grads() + whole.num_params(), [](double v) { return v == 0; }));
    whole.accumulate_gradients(x.data(), labels.data(), n, at);
    for (std::size_t i = 0; i < whole.num_params(); ++i) ASSERT_NEAR(twice[i], 2 * whole.grads()[i], 1e-12);
  }
}

TEST(ModelForward, EvaluationHasNoDropoutAndBatchesAreIndependent) {
  const ModelSpec spec = test::mlp();
  const int n = 7;
  Model<double> model(spec, n);
  model.init(21);
  const auto x = random_images(spec, n, 6);
  const double* out = model.forward(x.data(), n);
  const std::vector<double> logits(out, out + n * 10);
  const double* again = model.forward(x.data(), n);
  EXPECT_TRUE(std::equal(logits.begin(), logits.end(), again));  // no mask in evaluation
  const DropoutContext at{1, 0, 0};
  const double* trained = model.forward(x.data(), n, &at);
  EXPECT_FALSE(std::equal(logits.begin(), logits.end(), trained));
  const std::vector<std::uint8_t> labels = {0, 1, 2, 3, 4, 5, 6};
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
  const double* two = model.forward(x.data() + 3 * image_size(spec), 2);  // images 3 and 4 alone
  for (int i = 0; i < 20; ++i) EXPECT_NEAR(two[i], logits[30 + i], 1e-12);
}

TEST(ModelForward, EmptyBatchAndLimits) {
  Model<float> model(tutorial_model_spec(), 2);
  model.init(1);
  model.zero_grads();
  const std::vector<float> x(3 * 784, 0.5f);
  const std::vector<std::uint8_t> labels = {1, 2, 3};
  const BatchStats s = model.accumulate_gradients(x.data(), labels.data(), 0, {});
  EXPECT_EQ(s.loss_sum, 0);
  EXPECT_EQ(s.correct, 0);
  EXPECT_TRUE(std::all_of(model.grads(), model.grads() + model.num_params(), [](float v) { return v == 0; }));
  EXPECT_EQ(model.max_batch(), 2);
  EXPECT_THROW(model.forward(x.data(), 3), std::invalid_argument);
  const std::vector<std::uint8_t> bad = {1, 10};
  EXPECT_THROW(model.evaluate(x.data(), bad.data(), 2), std::invalid_argument);
  EXPECT_THROW(Model<float>(tutorial_model_spec(), 0), std::invalid_argument);
}

}  // namespace
}  // namespace fmnist
