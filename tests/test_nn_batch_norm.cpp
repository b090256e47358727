// Tests of BatchNormalization: its spec (Keras weight names and order, non-trainable moving
// statistics, Keras 2 and 3 JSON, refusals naming layer, field and value), the global-batch
// training step (double-precision gradient checks through train_step over several micro-batches
// against central differences of the whole batch's loss; two "ranks" on two threads giving the
// bytes of one), the moving statistics and evaluation with them, and the loss-buffer floor.
#include <gtest/gtest.h>

#include <barrier>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <thread>

#include "fmnist/error.hpp"
#include "fmnist/model.hpp"
#include "grad_check.hpp"
#include "test_nn_specs.hpp"

namespace fmnist {
namespace {

using test::GradientChecker;
using test::image_size;
using test::random_images;

LayerSpec norm(const std::string& name, bool center = true, bool scale = true, double momentum = 0.99) {
  LayerSpec l = test::simple(LayerKind::batch_normalization, name);
  l.center = center;
  l.scale = scale;
  l.momentum = momentum;
  return l;
}

// Conv2D -> BN -> relu -> MaxPool -> Flatten -> Dense -> BN -> Dropout -> Dense: both placements.
ModelSpec conv_and_dense(bool center, bool scale) {
  return test::model({6, 5, 2}, {test::conv("conv2d", 3, {3, 3}, {1, 1}, Padding::same, Activation::linear),  // (6, 5, 3)
                                 norm("batch_normalization", center, scale),
                                 test::simple(LayerKind::activation, "activation", 0, Activation::relu),
                                 test::pool("max_pooling2d", true, {2, 2}, {2, 2}, Padding::valid),  // (3, 2, 3)
                                 test::simple(LayerKind::flatten, "flatten"),                        // (18)
                                 test::dense("dense", 6, Activation::linear),
                                 norm("batch_normalization_1", center, scale),
                                 test::simple(LayerKind::dropout, "dropout", 0.3),
                                 test::dense("dense_1", 5, Activation::linear)});
}

// Non-trivial gamma, beta, biases and moving statistics.
template <typename T>
void perturb(Model<T>& model, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> small(-0.2, 0.2);
  for (const TensorSpec& t : model.plan().tensors) {
    if (t.shape.size() != 1) continue;
    const bool around_one = t.name.find("gamma") != std::string::npos || t.name.find("moving_variance") != std::string::npos;
    for (std::size_t i = 0; i < t.size; ++i) model.params()[t.offset + i] = T((around_one ? 1.0 : 0.0) + small(rng));
  }
}

// micro-batches of the given sizes over images x, one after the other in the global batch
template <typename T>
std::vector<MicroBatch<T>> cut(const std::vector<T>& x, const std::vector<std::uint8_t>& labels, const ModelSpec& spec,
                               const std::vector<int>& sizes, const DropoutContext& at) {
  std::vector<MicroBatch<T>> batches;
  int first = 0;
  for (int n : sizes) {
    batches.push_back({x.data() + std::size_t(first) * image_size(spec), labels.data() + first, n,
                       DropoutContext{at.seed, at.step, at.first_sample + first}});
    first += n;
  }
  return batches;
}

// train_step over micro-batches `sizes` (one process: the exchange leaves the sums as they are)
// against central differences of the loss of the whole batch in training mode.
void check_global_batch_gradient(const ModelSpec& spec, const std::vector<int>& sizes, std::uint64_t seed) {
  SCOPED_TRACE(::testing::Message() << "center " << spec.layers[1].center << " scale " << spec.layers[1].scale);
  const int total = std::accumulate(sizes.begin(), sizes.end(), 0);
  Model<double> model(spec, *std::max_element(sizes.begin(), sizes.end())), whole(spec, total);
  model.init(seed);
  perturb(model, seed);
  std::copy(model.params(), model.params() + model.num_params(), whole.params());
  const auto x = random_images(spec, total, seed + 1);
  std::vector<std::uint8_t> labels(static_cast<std::size_t>(total));
  for (int i = 0; i < total; ++i) labels[std::size_t(i)] = std::uint8_t((3 * i + 1) % model.plan().classes());
  const DropoutContext at{seed, 3, 0};
  std::vector<double> analytic(model.num_params(), 0.0);
  int exchanges = 0;
  const Exchange exchange = [&](std::int64_t*, std::size_t) { ++exchanges; };
  const GradientSink sink = [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) analytic[i] += model.grads()[i];
    return true;
  };
  const StepResult step = model.train_step(cut(x, labels, spec, sizes, at), exchange, sink);
  EXPECT_TRUE(step.fine);
  EXPECT_EQ(exchanges, 4);  // two BatchNormalizations, forward and backward
  ASSERT_EQ(step.batches.size(), sizes.size());
  double loss_sum = 0;
  for (const BatchStats& b : step.batches) loss_sum += b.loss_sum;
  auto loss = [&] { return whole.evaluate(x.data(), labels.data(), total, &at).loss_sum; };
  EXPECT_NEAR(loss_sum, loss(), 1e-9 * loss_sum);
  const GradientChecker checker{.step = 1e-6, .threshold = 2e-6, .floor = 1e-2};
  for (const TensorSpec& t : model.plan().tensors) {
    if (!t.trainable) {
      EXPECT_TRUE(std::all_of(analytic.begin() + std::ptrdiff_t(t.offset), analytic.begin() + std::ptrdiff_t(t.offset + t.size),
                              [](double g) { return g == 0; }))
          << t.name;
      continue;
    }
    const auto r = checker.check(whole.params() + t.offset, analytic.data() + t.offset, t.size, loss, t.name, seed);
    if (t.name == "conv2d/bias:0" || t.name == "dense/bias:0")
      EXPECT_LT(r.largest, 1e-9) << t.name << ": a bias right before a BatchNormalization has no effect";
    else
      EXPECT_GT(r.largest, 1e-5) << t.name << ": the check saw no gradient at all";
  }
}

TEST(BatchNormGradient, GlobalBatchAcrossMicroBatchesMatchesCentralDifferences) {
  for (bool center : {true, false}) {
    for (bool scale : {true, false}) check_global_batch_gradient(conv_and_dense(center, scale), {2, 3, 1}, 11);
  }
}

// ---- The same bytes for any split over ranks --------------------------------------------------

// Sums `ranks` threads' int64 buffers in place, as an allreduce does.
class ThreadAllreduce {
 public:
  explicit ThreadAllreduce(int ranks) : sync_(ranks), slots_(std::size_t(ranks)) {}
  Exchange exchange(int rank) {
    return [this, rank](std::int64_t* sums, std::size_t n) {
      slots_[std::size_t(rank)].assign(sums, sums + n);
      sync_.arrive_and_wait();
      for (std::size_t i = 0; i < n; ++i) {
        sums[i] = 0;
        for (const auto& s : slots_) sums[i] += s[i];
      }
      sync_.arrive_and_wait();
    };
  }

 private:
  std::barrier<> sync_;
  std::vector<std::vector<std::int64_t>> slots_;
};

// One rank's step in float as the trainer runs it: fixed-point gradient sums and the parameters after.
struct RankResult {
  std::vector<std::int64_t> sums;
  std::vector<float> params;
  StepResult step;
};

RankResult run_rank(const ModelSpec& spec, const std::vector<float>& params, std::span<const MicroBatch<float>> batches,
                    const Exchange& exchange) {
  Model<float> model(spec, 3);
  std::copy(params.begin(), params.end(), model.params());
  RankResult r;
  r.sums.assign(model.num_params(), 0);
  const GradientSink sink = [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) r.sums[i] += std::int64_t(double(model.grads()[i]) * 4294967296.0);
    return true;
  };
  r.step = model.train_step(batches, exchange, sink);
  r.params.assign(model.params(), model.params() + model.num_params());
  return r;
}

TEST(BatchNormStep, TwoRanksGiveTheBytesOfOne) {
  const ModelSpec spec = conv_and_dense(true, true);
  Model<float> init(spec, 1);
  init.init(5);
  perturb(init, 5);
  const std::vector<float> params(init.params(), init.params() + init.num_params());
  const auto xd = random_images(spec, 7, 6);
  const std::vector<float> x(xd.begin(), xd.end());
  const std::vector<std::uint8_t> labels = {0, 1, 2, 3, 4, 0, 1};
  const auto batches = cut(x, labels, spec, {3, 3, 1}, {9, 2, 0});
  const RankResult one = run_rank(spec, params, batches, [](std::int64_t*, std::size_t) {});
  ThreadAllreduce allreduce(2);
  RankResult a, b;
  std::thread second([&] { b = run_rank(spec, params, std::span(batches).subspan(2), allreduce.exchange(1)); });
  a = run_rank(spec, params, std::span(batches).first(2), allreduce.exchange(0));
  second.join();
  for (std::size_t i = 0; i < one.sums.size(); ++i) ASSERT_EQ(a.sums[i] + b.sums[i], one.sums[i]) << i;
  EXPECT_EQ(a.params, one.params);  // the moving statistics updated alike on every rank
  EXPECT_EQ(b.params, one.params);
  EXPECT_NE(one.params, params);
  // A rank without micro-batches still joins every exchange.
  ThreadAllreduce three(2);
  RankResult c, idle;
  std::thread empty([&] { idle = run_rank(spec, params, {}, three.exchange(1)); });
  c = run_rank(spec, params, batches, three.exchange(0));
  empty.join();
  EXPECT_EQ(c.sums, one.sums);
  EXPECT_EQ(idle.params, one.params);
  EXPECT_TRUE(idle.step.batches.empty());
  // ...and the statistics are really the global batch's: each rank alone computes other gradients.
  const RankResult alone = run_rank(spec, params, std::span(batches).first(2), [](std::int64_t*, std::size_t) {});
  EXPECT_NE(alone.sums, a.sums);
}

// ---- Moving statistics and evaluation ----------------------------------------------------------

TEST(BatchNormStep, MovingStatisticsTakeTheBatchMeanAndBiasedVariance) {
  const ModelSpec spec = test::model({2, 2, 3}, {test::simple(LayerKind::flatten, "flatten"), norm("bn", true, true, 0.9)});
  Model<double> model(spec, 3);
  model.init(1);
  const ModelPlan& plan = model.plan();
  ASSERT_EQ(plan.tensors.size(), 4u);
  const auto x = random_images(spec, 3, 4);
  const std::vector<std::uint8_t> labels = {1, 5, 11};
  const auto batches = cut(x, labels, spec, {2, 1}, {});
  model.train_step(batches, [](std::int64_t*, std::size_t) {}, [](std::size_t, std::size_t) { return true; });
  const double* mean = model.params() + plan.tensors[2].offset;
  const double* var = model.params() + plan.tensors[3].offset;
  for (std::size_t c = 0; c < 12; ++c) {
    const double m = (x[c] + x[12 + c] + x[24 + c]) / 3;
    const double v = (std::pow(x[c] - m, 2) + std::pow(x[12 + c] - m, 2) + std::pow(x[24 + c] - m, 2)) / 3;  // biased
    EXPECT_NEAR(mean[c], 0.1 * m, 1e-12) << c;
    EXPECT_NEAR(var[c], 0.9 + 0.1 * v, 1e-12) << c;
  }
  // Evaluation normalises with the moving statistics; training mode with the batch's own.
  double* gamma = model.params();
  double* beta = model.params() + 12;
  for (std::size_t c = 0; c < 12; ++c) {
    gamma[c] = 0.5 + 0.1 * double(c);
    beta[c] = 0.01 * double(c);
  }
  const double* y = model.forward(x.data(), 3);
  for (std::size_t i = 0; i < 36; ++i) {
    const std::size_t c = i % 12;
    EXPECT_NEAR(y[i], gamma[c] * (x[i] - mean[c]) / std::sqrt(var[c] + 1e-3) + beta[c], 1e-12) << i;
  }
  const DropoutContext at{};
  const double* t = model.forward(x.data(), 3, &at);
  for (std::size_t c = 0; c < 12; ++c) EXPECT_NEAR((t[c] + t[12 + c] + t[24 + c]) / 3, beta[c], 1e-12) << c;
}

// A spec without a compute layer: the loss still has room for (n, classes) gradients.
TEST(ModelBuffers, LossGradientFitsWithoutComputeLayers) {
  const ModelSpec spec = test::model({4, 4, 3}, {test::simple(LayerKind::flatten, "flatten")});  // 48 classes
  Model<float> model(spec, 5);
  const std::vector<float> x(5 * 48, 0.25f);
  const std::vector<std::uint8_t> labels = {0, 7, 47, 3, 9};
  const std::vector<MicroBatch<float>> batches = {{x.data(), labels.data(), 5, {}}};
  const StepResult step = model.train_step(batches, [](std::int64_t*, std::size_t) {}, [](std::size_t, std::size_t) { return true; });
  ASSERT_EQ(step.batches.size(), 1u);
  EXPECT_NEAR(step.batches[0].loss_sum, 5 * std::log(48.0), 1e-4);
  model.accumulate_gradients(x.data(), labels.data(), 5, {});
  EXPECT_EQ(model.num_params(), 0u);
}

// ---- The spec ----------------------------------------------------------------------------------

TEST(BatchNormSpec, KerasWeightsOrderAndNonTrainableCount) {
  const ModelPlan plan = plan_model(conv_and_dense(true, true));
  std::vector<std::string> names;
  for (const TensorSpec& t : plan.tensors) names.push_back(t.name);
  const std::vector<std::string> want = {
      "conv2d/kernel:0", "conv2d/bias:0", "batch_normalization/gamma:0", "batch_normalization/beta:0",
      "batch_normalization/moving_mean:0", "batch_normalization/moving_variance:0", "dense/kernel:0", "dense/bias:0",
      "batch_normalization_1/gamma:0", "batch_normalization_1/beta:0", "batch_normalization_1/moving_mean:0",
      "batch_normalization_1/moving_variance:0", "dense_1/kernel:0", "dense_1/bias:0"};
  EXPECT_EQ(names, want);
  EXPECT_FALSE(plan.tensors[4].trainable);
  EXPECT_FALSE(plan.tensors[5].trainable);
  EXPECT_TRUE(plan.tensors[2].trainable);
  EXPECT_EQ(plan.tensors[2].initializer, Initializer::ones);
  EXPECT_EQ(plan.num_params - plan.trainable_params, 2u * 3 + 2u * 6);
  const std::string summary = model_summary(plan);
  EXPECT_NE(summary.find("Non-trainable params: 18"), std::string::npos) << summary;
  const ModelPlan bare = plan_model(conv_and_dense(false, false));  // moving statistics only
  EXPECT_EQ(bare.tensors[2].name, "batch_normalization/moving_mean:0");
  EXPECT_EQ(bare.num_params, plan.num_params - 18);
  Model<float> model(conv_and_dense(true, true), 1);
  model.init(3);
  for (std::size_t k : {2, 5}) {
    const TensorSpec& t = model.plan().tensors[k];
    EXPECT_TRUE(std::all_of(model.params() + t.offset, model.params() + t.offset + t.size, [](float v) { return v == 1; }));
  }
}

using nlohmann::json;

json bn_layer(json axis) {
  return {{"class_name", "BatchNormalization"},
          {"config",
           {{"name", "batch_normalization"}, {"trainable", true}, {"dtype", "float32"}, {"axis", axis},
            {"momentum", 0.9}, {"epsilon", 0.001}, {"center", true}, {"scale", false},
            {"beta_initializer", {{"class_name", "Zeros"}, {"config", json::object()}}},
            {"gamma_initializer", {{"class_name", "Ones"}, {"config", json::object()}}},
            {"moving_mean_initializer", {{"class_name", "Zeros"}, {"config", json::object()}}},
            {"moving_variance_initializer", "ones"}, {"beta_regularizer", nullptr}, {"gamma_constraint", nullptr}}}};
}

// InputLayer (8, 8, 1) -> Conv2D 4 -> BatchNormalization(axis) -> Flatten -> Dense 10.
json doc_with(json axis, bool keras3 = false) {
  json input = {{"class_name", "InputLayer"}, {"config", {{"name", "in"}}}};
  input["config"][keras3 ? "batch_shape" : "batch_input_shape"] = {nullptr, 8, 8, 1};
  const json conv = {{"class_name", "Conv2D"}, {"config", {{"name", "conv2d"}, {"filters", 4}, {"kernel_size", {3, 3}}}}};
  const json flat = {{"class_name", "Flatten"}, {"config", {{"name", "flatten"}}}};
  const json dense = {{"class_name", "Dense"}, {"config", {{"name", "dense"}, {"units", 10}}}};
  return {{"class_name", "Sequential"}, {"config", {{"name", "m"}, {"layers", {input, conv, bn_layer(axis), flat, dense}}}}};
}

void expect_refused(const std::string& text, const std::string& what) {
  try {
    parse_keras_json(text, "bn.json");
    ADD_FAILURE() << "accepted; expected: " << what;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Exit::usage);
    EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
  }
}

TEST(BatchNormJson, Keras2And3FormsReadTheSameAndWriteBackKeras2) {
  const ModelSpec k2 = parse_keras_json(doc_with(json::array({3})).dump(), "k2.json");
  const ModelSpec k3 = parse_keras_json(doc_with(-1, true).dump(), "k3.json");
  ASSERT_EQ(k2.layers.size(), 4u);
  EXPECT_EQ(k2.layers, k3.layers);
  const LayerSpec& l = k2.layers[1];
  EXPECT_EQ(l.kind, LayerKind::batch_normalization);
  EXPECT_EQ(l.momentum, 0.9);
  EXPECT_FALSE(l.scale);
  EXPECT_TRUE(l.center);
  const json out = json::parse(to_keras_json(k2));
  const json& c = out["config"]["layers"][2]["config"];
  EXPECT_EQ(out["config"]["layers"][2]["class_name"], "BatchNormalization");
  EXPECT_EQ(c["axis"], 3);  // resolved, as an integer (Keras 3 reads int(axis))
  EXPECT_EQ(c["gamma_initializer"]["class_name"], "Ones");
  EXPECT_EQ(c["scale"], false);
  EXPECT_EQ(parse_keras_json(out.dump(), "again.json").layers, k2.layers);
  // After a Dense the resolved axis is 1.
  json dense_doc = doc_with(json::array({1}));
  std::swap(dense_doc["config"]["layers"][2], dense_doc["config"]["layers"][3]);
  const ModelSpec after_dense = parse_keras_json(dense_doc.dump(), "dense.json");
  EXPECT_EQ(json::parse(to_keras_json(after_dense))["config"]["layers"][3]["config"]["axis"], 1);
  // Indented output is the same JSON.
  const std::string pretty = to_keras_json(k2, 2);
  EXPECT_NE(pretty.find("\n  \"config\""), std::string::npos);
  EXPECT_EQ(json::parse(pretty), out);
}

TEST(BatchNormJson, RefusesOtherAxesInitializersAndRanges) {
  const std::string where = "layer 2 'batch_normalization' (BatchNormalization): field ";
  expect_refused(doc_with(json::array({1})).dump(), where + "'axis': 1 is not supported (only the channels axis: -1 or 3");
  expect_refused(doc_with(2).dump(), where + "'axis': 2 is not supported");
  expect_refused(doc_with(json::array({1, 2})).dump(), where + "'axis': [1, 2] is not an integer or a list of one integer");
  json bad = doc_with(-1);
  bad["config"]["layers"][2]["config"]["gamma_initializer"] = "glorot_uniform";
  expect_refused(bad.dump(), where + "'gamma_initializer': \"glorot_uniform\" is not supported (zeros, ones)");
  bad = doc_with(-1);
  bad["config"]["layers"][2]["config"]["momentum"] = 1.5;
  expect_refused(bad.dump(), where + "'momentum': 1.5 is out of range [0.0, 1.0]");
  bad = doc_with(-1);
  bad["config"]["layers"][2]["config"]["beta_regularizer"] = "l3";
  expect_refused(bad.dump(), where + "'beta_regularizer': \"l3\" is not supported (a regularizer l1, l2 or l1_l2)");
  bad = doc_with(-1);
  bad["config"]["layers"][2]["config"]["epsilon"] = 0;
  expect_refused(bad.dump(), where + "'epsilon': 0 is out of range");
}

}  // namespace
}  // namespace fmnist
