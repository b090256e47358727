// Weight regularizers and label smoothing (docs/training.md: Regularization): the regularizer fields
// of every kind that has weights read in Keras 2's, Keras 3's and the function-style forms with
// Keras's defaults, written back and tied to the right tensors; bad ones refused naming the layer and
// field; the penalty by hand and its gradient against central differences in double; the smoothed
// loss by hand and its gradient against central differences.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "expect_error.hpp"
#include "fmnist/error.hpp"
#include "fmnist/layers.hpp"
#include "fmnist/model_spec.hpp"
#include "fmnist/regularization.hpp"
#include "grad_check.hpp"

namespace fmnist {
namespace {

using json = nlohmann::json;
using test::expect_error;

// A small model with a regularizer on every kind of weight: Conv2D (kernel L2, bias L1), a
// BatchNormalization (gamma L1L2, beta "l2"), DepthwiseConv2D (Keras 3's form), SeparableConv2D
// (depthwise "l1_l2", pointwise L1 default) and Dense (kernel L1L2 without factors: none).
json regularized_model() {
  return json::parse(R"({"class_name": "Sequential", "config": {"name": "reg", "layers": [
    {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 10, 10, 1], "name": "input_1"}},
    {"class_name": "Conv2D", "config": {"name": "conv", "filters": 3, "kernel_size": [3, 3],
      "kernel_regularizer": {"class_name": "L2", "config": {"l2": 0.001}},
      "bias_regularizer": {"class_name": "L1", "config": {"l1": 0.5}}, "activity_regularizer": null}},
    {"class_name": "BatchNormalization", "config": {"name": "bn",
      "gamma_regularizer": {"class_name": "L1L2", "config": {"l1": 0.25, "l2": 0.125}}, "beta_regularizer": "l2"}},
    {"class_name": "DepthwiseConv2D", "config": {"name": "dw", "kernel_size": [3, 3],
      "depthwise_regularizer": {"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.0001},
                                "registered_name": null}}},
    {"class_name": "SeparableConv2D", "config": {"name": "sep", "filters": 2, "kernel_size": [3, 3],
      "depthwise_regularizer": "l1_l2", "pointwise_regularizer": {"class_name": "L1"}}},
    {"class_name": "Flatten", "config": {"name": "flatten"}},
    {"class_name": "Dense", "config": {"name": "dense", "units": 10,
      "kernel_regularizer": {"class_name": "L1L2", "config": {}}}}]}})");
}

const TensorSpec& tensor(const ModelPlan& plan, const std::string& name) {
  for (const TensorSpec& t : plan.tensors) {
    if (t.name == name) return t;
  }
  throw std::runtime_error("no tensor " + name);
}

TEST(Regularizers, EachWeightCarriesItsFieldsRegularizerWithKerasDefaults) {
  const ModelPlan plan = plan_model(parse_keras_json(regularized_model().dump(), "reg.json"));
  EXPECT_EQ(tensor(plan, "conv/kernel:0").regularizer, (Regularizer{0, 0.001}));
  EXPECT_EQ(tensor(plan, "conv/bias:0").regularizer, (Regularizer{0.5, 0}));
  EXPECT_EQ(tensor(plan, "bn/gamma:0").regularizer, (Regularizer{0.25, 0.125}));
  EXPECT_EQ(tensor(plan, "bn/beta:0").regularizer, (Regularizer{0, 0.01}));  // "l2": L2() of l2 0.01
  EXPECT_FALSE(tensor(plan, "bn/moving_mean:0").regularizer.any());
  EXPECT_EQ(tensor(plan, "dw/depthwise_kernel:0").regularizer, (Regularizer{0, 0.0001}));
  EXPECT_FALSE(tensor(plan, "dw/bias:0").regularizer.any());
  EXPECT_EQ(tensor(plan, "sep/depthwise_kernel:0").regularizer, (Regularizer{0.01, 0.01}));  // "l1_l2"
  EXPECT_EQ(tensor(plan, "sep/pointwise_kernel:0").regularizer, (Regularizer{0.01, 0}));    // L1()
  EXPECT_FALSE(tensor(plan, "dense/kernel:0").regularizer.any());                             // L1L2(): 0, 0
  EXPECT_TRUE(has_regularizers(plan));
  EXPECT_FALSE(has_regularizers(plan_model(tutorial_model_spec())));
}

TEST(Regularizers, WrittenAsL1L2AndReadBackTheSame) {
  const ModelSpec spec = parse_keras_json(regularized_model().dump(), "reg.json");
  const json written = json::parse(to_keras_json(spec));
  const json& conv = written["config"]["layers"][1]["config"];
  EXPECT_EQ(conv["kernel_regularizer"], json::parse(R"({"class_name": "L1L2", "config": {"l1": 0.0, "l2": 0.001}})"));
  EXPECT_TRUE(conv["activity_regularizer"].is_null());
  EXPECT_EQ(written["config"]["layers"][2]["config"]["beta_regularizer"]["config"]["l2"], 0.01);
  EXPECT_TRUE(written["config"]["layers"][3]["config"]["bias_regularizer"].is_null());
  EXPECT_EQ(parse_keras_json(written.dump(), "again.json").layers, spec.layers);
  // The regularizers are part of a layer's maths: a resume with other ones is another model.
  ModelSpec other = spec;
  other.layers[0].regularizers[0].second.l2 = 0.002;
  EXPECT_NE(first_difference(spec, other).find("kernel_regularizer l2 0.002"), std::string::npos)
      << first_difference(spec, other);
  EXPECT_EQ(first_difference(spec, spec), "");
}

// Parsing must fail with exit 2 naming the layer, the field and the problem.
void expect_refused(const std::function<void(json&)>& edit, const std::string& what) {
  json doc = regularized_model();
  edit(doc);
  const std::string message = expect_error(Exit::usage, [&] { parse_keras_json(doc.dump(), "reg.json"); });
  EXPECT_NE(message.find(what), std::string::npos) << "expected: " << what << "\ngot: " << message;
}

json& layer_config(json& doc, int i) { return doc["config"]["layers"][i]["config"]; }

TEST(Regularizers, BadOnesAreRefusedNamingLayerAndField) {
  expect_refused([](json& d) { layer_config(d, 1)["kernel_regularizer"] = {{"class_name", "OrthogonalRegularizer"}}; },
                 "layer 1 'conv' (Conv2D): field 'kernel_regularizer': {\"class_name\":\"OrthogonalRegularizer\"} is "
                 "not supported (a regularizer of class L1, L2 or L1L2)");
  expect_refused([](json& d) { layer_config(d, 1)["kernel_regularizer"]["config"]["l2"] = -0.1; },
                 "layer 1 'conv' (Conv2D): field 'kernel_regularizer': {\"class_name\":\"L2\",\"config\":{\"l2\":-0.1}} "
                 "has an 'l2' that is not a finite number >= 0");
  expect_refused([](json& d) { layer_config(d, 1)["bias_regularizer"]["config"]["l2"] = 0.1; },
                 "field 'bias_regularizer': {\"class_name\":\"L1\",\"config\":{\"l1\":0.5,\"l2\":0.1}} is not "
                 "supported (L1 has no 'l2')");
  expect_refused([](json& d) { layer_config(d, 2)["beta_regularizer"] = "l3"; },
                 "layer 2 'bn' (BatchNormalization): field 'beta_regularizer': \"l3\" is not supported (a regularizer "
                 "l1, l2 or l1_l2)");
  expect_refused([](json& d) { layer_config(d, 6)["activity_regularizer"] = "l2"; },
                 "layer 6 'dense' (Dense): field 'activity_regularizer': \"l2\" is not supported (a penalty on the "
                 "layer's output is not implemented; weight regularizers are)");
  expect_refused([](json& d) { layer_config(d, 3)["pointwise_regularizer"] = "l2"; },
                 "layer 3 'dw' (DepthwiseConv2D): field 'pointwise_regularizer': \"l2\" is not supported");
}

// A model of every regularized kind with random weights, in double.
struct Weights {
  ModelPlan plan = plan_model(parse_keras_json(regularized_model().dump(), "reg.json"));
  std::vector<double> w;
  explicit Weights(std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    w = test::random_vector(plan.num_params, rng);
  }
};

TEST(Regularizers, PenaltyIsKerasFormulaByHand) {
  Weights m(3);
  double want = 0;
  for (const TensorSpec& t : m.plan.tensors) {
    for (std::size_t i = 0; i < t.size; ++i) {
      const double x = m.w[t.offset + i];
      want += t.regularizer.l1 * std::abs(x) + t.regularizer.l2 * x * x;  // no 1/2
    }
  }
  const double got = regularization_penalty(m.plan, m.w.data());
  EXPECT_NEAR(got, want, 1e-12 * want);
  EXPECT_GT(got, 0.1);  // the check sees a real penalty
  // A hand figure: the conv bias (3 values) under L1 0.5.
  std::vector<double> zeros(m.plan.num_params, 0.0);
  const TensorSpec& bias = tensor(m.plan, "conv/bias:0");
  zeros[bias.offset] = 2;
  zeros[bias.offset + 2] = -4;
  EXPECT_DOUBLE_EQ(regularization_penalty(m.plan, zeros.data()), 0.5 * 6);
}

TEST(Regularizers, GradientMatchesCentralDifferencesOfThePenalty) {
  Weights m(5);
  std::vector<double> grad(m.plan.num_params, 0.0);
  add_regularization_gradient(m.plan, m.w.data(), grad.data());
  test::GradientChecker checker;
  checker.step = 1e-4;  // the penalty is quadratic or linear: exact differences, little rounding
  checker.floor = 1e-6;
  for (const TensorSpec& t : m.plan.tensors) {
    const test::GradientChecker::Result r =
        checker.check(m.w.data() + t.offset, grad.data() + t.offset, t.size,
                      [&] { return regularization_penalty(m.plan, m.w.data()); }, t.name);
    if (t.regularizer.any()) {
      EXPECT_GT(r.largest, 0) << t.name;
    } else {
      EXPECT_EQ(r.largest, 0) << t.name;  // no regularizer: no gradient
    }
  }
  // Negative control: the L2 gradient without its factor 2 is caught.
  const TensorSpec& k = tensor(m.plan, "conv/kernel:0");
  std::vector<double> half = grad;
  for (std::size_t i = 0; i < k.size; ++i) half[k.offset + i] = k.regularizer.l2 * m.w[k.offset + i];
  double worst = 0;
  for (std::size_t i = 0; i < k.size; ++i) worst = std::max(worst, std::abs(half[k.offset + i] - grad[k.offset + i]));
  EXPECT_GT(worst, 1e-5);
}

TEST(Regularizers, GradientAddsToWhatIsThere) {
  Weights m(7);
  const TensorSpec& b = tensor(m.plan, "conv/bias:0");  // L1 0.5
  std::vector<double> grad(m.plan.num_params, 1.0);
  m.w[b.offset] = 0;  // sign(0) = 0
  add_regularization_gradient(m.plan, m.w.data(), grad.data());
  EXPECT_EQ(grad[b.offset], 1.0);
  EXPECT_EQ(grad[b.offset + 1], m.w[b.offset + 1] > 0 ? 1.5 : 0.5);
  std::vector<float> wf(m.w.begin(), m.w.end()), gf(m.plan.num_params, 0.0f);
  add_regularization_gradient(m.plan, wf.data(), gf.data());
  EXPECT_FLOAT_EQ(gf[b.offset + 1], m.w[b.offset + 1] > 0 ? 0.5f : -0.5f);
}

TEST(Regularization, TrainableRangesOfAPlanSkipTheMovingStatistics) {
  ModelSpec spec = tutorial_model_spec();
  const ModelPlan plain = plan_model(spec);
  EXPECT_EQ(trainable_ranges(plain).size(), 1u);  // every tensor trainable: one range
  EXPECT_EQ(trainable_ranges(plain)[0].end, plain.num_params);
  LayerSpec bn;
  bn.kind = LayerKind::batch_normalization;
  bn.name = "batch_normalization";
  spec.layers.insert(spec.layers.begin() + 1, bn);
  const ModelPlan with_bn = plan_model(spec);
  const std::vector<ParamRange> ranges = trainable_ranges(with_bn);
  std::size_t covered = 0;
  for (const ParamRange& r : ranges) covered += r.end - r.begin;
  EXPECT_EQ(covered, with_bn.trainable_params);
  EXPECT_EQ(ranges.size(), 2u);  // the moving statistics (64 values) cut the arena in two
}

// ---- Label smoothing ----------------------------------------------------------------------------

TEST(LabelSmoothing, LossOfATinyBatchByHand) {
  // Two samples, three classes; smoothing 0.3: targets 0.8 / 0.1 / 0.1 around the label.
  const double logits[6] = {2.0, 0.5, -1.0, 0.0, 1.0, 3.0};
  const std::uint8_t labels[2] = {0, 1};
  auto lse = [](double a, double b, double c) { return std::log(std::exp(a) + std::exp(b) + std::exp(c)); };
  const double want = (lse(2, 0.5, -1) - (0.8 * 2.0 + 0.1 * 0.5 + 0.1 * -1.0)) +
                      (lse(0, 1, 3) - (0.1 * 0.0 + 0.8 * 1.0 + 0.1 * 3.0));
  const BatchStats s = softmax_xent_forward(logits, labels, 2, 3, 0.3);
  EXPECT_NEAR(s.loss_sum, want, 1e-12);
  EXPECT_EQ(s.correct, 1);  // accuracy is the labels', whatever the smoothing
  const double plain = (lse(2, 0.5, -1) - 2.0) + (lse(0, 1, 3) - 1.0);
  EXPECT_NEAR(softmax_xent_forward(logits, labels, 2, 3, 0.0).loss_sum, plain, 1e-12);
  EXPECT_GT(std::abs(want - plain), 0.1);  // negative control: the smoothing changes the figure
  const float logits_f[6] = {2.0f, 0.5f, -1.0f, 0.0f, 1.0f, 3.0f};
  EXPECT_NEAR(softmax_xent_forward(logits_f, labels, 2, 3, 0.3).loss_sum, want, 1e-6);
}

TEST(LabelSmoothing, GradientMatchesCentralDifferences) {
  std::mt19937_64 rng(11);
  const int n = 4, classes = 10;
  std::vector<double> logits = test::random_vector(std::size_t(n) * classes, rng, -3, 3);
  const std::uint8_t labels[n] = {3, 0, 9, 3};
  for (double smoothing : {0.0, 0.1, 0.6}) {
    std::vector<double> grad(logits.size());
    softmax_xent_backward(logits.data(), labels, n, classes, grad.data(), smoothing);
    const auto loss = [&] { return softmax_xent_forward(logits.data(), labels, n, classes, smoothing).loss_sum; };
    const test::GradientChecker::Result r =
        test::GradientChecker{}.check(logits, grad, loss, "dlogits smoothing " + std::to_string(smoothing));
    EXPECT_EQ(r.checked, logits.size());
    // Each row of softmax - targets sums to 0.
    double row = 0;
    for (int k = 0; k < classes; ++k) row += grad[std::size_t(k)];
    EXPECT_NEAR(row, 0, 1e-12);
  }
  // Negative control: the unsmoothed gradient is not the smoothed loss's.
  std::vector<double> plain(logits.size());
  softmax_xent_backward(logits.data(), labels, n, classes, plain.data(), 0.0);
  std::vector<double> smoothed(logits.size());
  softmax_xent_backward(logits.data(), labels, n, classes, smoothed.data(), 0.6);
  EXPECT_GT(test::max_rel_diff(plain, smoothed), 0.05);
}

}  // namespace
}  // namespace fmnist
