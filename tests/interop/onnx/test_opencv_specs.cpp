// Every layer option the trainer supports, through OpenCV's dnn module: specs with random
// weights (kernels and strides of every shape, valid and same padding with its odd pixel after,
// depthwise, separable and dilated convolutions, max and average pooling, no bias, Dropout,
// Activation layers, softmax or logits at the end) are exported, run by OpenCV on the fixture's test images, and both outputs must match our own
// forward pass to 1e-4; each spec's negative control (NCHW flatten order, or an activation made
// linear where that order cannot matter) must not. Also every activation (but relu6), the
// activation layers, ZeroPadding2D and the global poolings. OpenCV 4.6
// ignores AveragePool's count_include_pad (its importer excludes the pads unless the producer is
// "pytorch"), so ONNX Runtime's test (tests/interop/onnxruntime/) is the one that checks it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <opencv2/dnn.hpp>
#include <string>
#include <vector>

#include "../../test_nn_specs.hpp"
#include "fmnist/data.hpp"
#include "fmnist/export.hpp"
#include "fmnist/model.hpp"
#include "fmnist/predict.hpp"

namespace fmnist::test {
namespace {

constexpr double kTolerance = 1e-4;

struct Outputs {
  std::vector<float> output, logits;  // (n, classes) each
};

const Dataset& images() {
  static const Dataset d = read_idx(std::string(FMNIST_FIXTURES) + "/idx/t10k-images-idx3-ubyte.gz",
                                    std::string(FMNIST_FIXTURES) + "/idx/t10k-labels-idx1-ubyte.gz");
  return d;
}

Outputs ours(const ModelSpec& spec, const std::vector<float>& weights, const std::vector<float>& x, int n) {
  Model<float> model(spec, n);
  std::copy(weights.begin(), weights.end(), model.params());
  const ModelPlan& plan = model.plan();
  const float* logits = model.forward(x.data(), n);  // (n, classes)
  Outputs o{{}, {logits, logits + std::size_t(n) * plan.classes()}};
  const auto& [h, w, c] = spec.input_shape;
  o.output = model_outputs(o.logits, ModelInput{h, w, c, plan.classes(), plan.softmax_output()});
  return o;
}

Outputs opencv(const std::string& onnx, const std::vector<float>& x, int n) {
  cv::dnn::Net net = cv::dnn::readNetFromONNX(onnx.data(), onnx.size());
  cv::Mat blob({n, kImageRows, kImageCols, 1}, CV_32F);  // (n, 28, 28, 1)
  std::copy(x.begin(), x.end(), blob.ptr<float>());
  net.setInput(blob, "input");
  std::vector<cv::Mat> y;
  net.forward(y, std::vector<cv::String>{"output", "logits"});
  auto values = [](const cv::Mat& m) { return std::vector<float>(m.ptr<float>(), m.ptr<float>() + m.total()); };
  return {values(y.at(0)), values(y.at(1))};
}

double max_difference(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  double d = 0;
  for (std::size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(double(a[i]) - double(b[i])));
  return d;
}

// A spec's negative control, an export that must not match: the NCHW flatten order, or (a spec with
// no Flatten of an image, or one of a single pixel, where either order is the same) the spec with its
// first Conv2D's or Dense's non-linear activation made linear, under the same weights.
enum class Control { nchw_flatten, linear_activation };

ModelSpec first_activation_linear(ModelSpec spec) {
  const auto l = std::find_if(spec.layers.begin(), spec.layers.end(), [](const LayerSpec& layer) {
    return (layer.kind == LayerKind::conv2d || layer.kind == LayerKind::dense) && layer.activation != Activation::linear;
  });
  EXPECT_NE(l, spec.layers.end()) << "no Conv2D or Dense with an activation to change";
  if (l != spec.layers.end()) l->activation = Activation::linear;
  return spec;
}

void check(const ModelSpec& spec, Control control = Control::nchw_flatten) {
  SCOPED_TRACE(spec.name);
  Model<float> init(spec, 1);
  init.init(11);
  for (const TensorSpec& t : init.plan().tensors) {  // BatchNormalization: statistics away from 0 and 1
    if (spec.layers[t.layer].kind != LayerKind::batch_normalization) continue;
    const bool variance = t.name.find("variance") != std::string::npos, gamma = t.name.find("gamma") != std::string::npos;
    float* w = init.params() + t.offset;
    for (std::size_t i = 0; i < t.size; ++i)
      w[i] = variance ? 0.5f + 0.25f * float(i % 3) : 0.1f * float(i % 5) + (gamma ? 0.8f : -0.1f);
  }
  const std::vector<float> weights(init.params(), init.params() + init.num_params());
  const int n = static_cast<int>(images().size());
  std::vector<float> x(std::size_t(n) * kImagePixels);  // (n, 28, 28, 1)
  scale_pixels(images().images.data(), x.size(), x.data());
  const Outputs reference = ours(spec, weights, x, n);
  const Outputs theirs = opencv(onnx_model(spec, weights), x, n);
  EXPECT_LE(max_difference(theirs.output, reference.output), kTolerance);
  EXPECT_LE(max_difference(theirs.logits, reference.logits), kTolerance);
  const std::string changed = control == Control::nchw_flatten
                                  ? onnx_model(spec, weights, {.keras_flatten_order = false})
                                  : onnx_model(first_activation_linear(spec), weights);
  EXPECT_GT(max_difference(opencv(changed, x, n).logits, reference.logits), 1e-3);
}

ModelSpec named(ModelSpec spec, const std::string& name) {
  spec.name = name;
  return spec;
}

const auto same = Padding::same, valid = Padding::valid;
const auto relu = Activation::relu, linear = Activation::linear, softmax = Activation::softmax;

TEST(OnnxInOpenCv, TheTutorialAndTheNnTestModels) {
  check(named(tutorial_model_spec(), "tutorial"));
  check(named(wide_same_dropout(), "wide_same_dropout"));
  check(named(strided_average(), "strided_average"));
  check(named(mlp(), "mlp"), Control::linear_activation);  // no image layer: the flatten order cannot differ
}

TEST(OnnxInOpenCv, StridesLargerThanKernelsAndSamePaddingEverywhere) {
  check(named(model({28, 28, 1}, {conv("c", 6, {2, 2}, {3, 3}, valid, relu),  // (9, 9)
                                  pool("m", true, {3, 3}, {1, 1}, same),      // (9, 9), pads 1 and 1
                                  pool("a", false, {2, 2}, {2, 2}, same),     // (5, 5), pad 1 after
                                  simple(LayerKind::flatten, "f"), dense("d", 10, softmax)}),
              "strides_over_kernels"));
}

TEST(OnnxInOpenCv, LargeKernelsAverageOverRealPixelsAndALastSoftmaxLayer) {
  check(named(model({28, 28, 1}, {conv("c", 8, {7, 7}, {3, 3}, same, linear, false),  // (10, 10), pads 3 and 3
                                  pool("a", false, {5, 5}, {1, 1}, same),             // (10, 10), pads 2 and 2
                                  simple(LayerKind::activation, "r", 0, relu),
                                  conv("p", 5, {1, 1}, {1, 1}, valid, linear),        // (10, 10, 5)
                                  simple(LayerKind::flatten, "f"), dense("h", 16, linear, false),
                                  simple(LayerKind::activation, "hr", 0, relu), dense("d", 10, linear),
                                  simple(LayerKind::dropout, "drop", 0.5),
                                  simple(LayerKind::activation, "probabilities", 0, softmax)}),
              "large_kernels"));
}

TEST(OnnxInOpenCv, RectangularWindowsAndEvenKernelsWithSamePadding) {
  check(named(model({28, 28, 1}, {conv("c", 4, {1, 5}, {1, 2}, same, relu),      // (28, 14)
                                  pool("m", true, {3, 1}, {2, 1}, same),          // (14, 14)
                                  conv("e", 6, {4, 4}, {1, 1}, same, relu, false), // (14, 14), pads 1 and 2
                                  pool("a", false, {2, 3}, {3, 2}, valid),        // (5, 6)
                                  simple(LayerKind::dropout, "drop", 0.25),
                                  pool("s", false, {2, 2}, {1, 1}, same),         // (5, 6), pad 1 after
                                  simple(LayerKind::flatten, "f"), dense("d", 10, linear)}),
              "rectangular"));
}

TEST(OnnxInOpenCv, DepthwiseSeparableAndDilatedConvolutions) {
  LayerSpec dilated = conv("dl", 4, {2, 2}, {1, 1}, same, linear);  // (6, 6), a span of 4: pads 1 and 2
  dilated.dilation = {3, 3};
  check(named(model({28, 28, 1}, {conv("c", 6, {3, 3}, {1, 1}, valid, relu),                       // (26, 26, 6)
                                  depthwise("dw", 0, {3, 3}, {1, 1}, same, 2, relu, {2, 2}),      // (26, 26, 12)
                                  pool("m", true, {2, 2}, {2, 2}, valid),                         // (13, 13, 12)
                                  depthwise("sp", 8, {3, 3}, {1, 1}, same, 1, relu),              // (13, 13, 8)
                                  depthwise("sp2", 5, {3, 3}, {2, 2}, valid, 2, linear, {1, 1}, false),  // (6, 6, 5)
                                  dilated, simple(LayerKind::flatten, "f"), dense("d", 10, softmax)}),
              "depthwise"));
}

TEST(OnnxInOpenCv, BatchNormalizationAfterConvAndDense) {
  LayerSpec bn = simple(LayerKind::batch_normalization, "bn");
  LayerSpec bare = simple(LayerKind::batch_normalization, "bn_1");
  bare.center = bare.scale = false;
  LayerSpec bn2 = simple(LayerKind::batch_normalization, "bn_2");
  bn2.center = false;
  check(named(model({28, 28, 1}, {bn2, conv("c", 6, {3, 3}, {1, 1}, same, linear), bn, simple(LayerKind::activation, "r", 0, relu),
                                  pool("m", true, {2, 2}, {2, 2}, valid), simple(LayerKind::flatten, "f"),
                                  dense("h", 12, linear), bare, dense("d", 10, softmax)}),
              "batch_norm"));
}

// Every activation on a Conv2D, gelu and hard_sigmoid in both forms, but relu6: OpenCV 4.6 reads
// Clip only in its opset-6 form (min and max as attributes; opset 11 made them inputs), and it has
// neither Where nor Min with a constant, so relu6 and a ReLU layer with max_value or threshold
// run in ONNX Runtime only (tests/interop/onnxruntime/, docs/onnx.md).
TEST(OnnxInOpenCv, EveryActivationButRelu6) {
  for (std::size_t a = 0; a < std::size_t(Activation::count); ++a) {
    const auto act = static_cast<Activation>(a);
    if (act == Activation::softmax || act == Activation::relu6) continue;
    for (bool other_form : {false, true}) {
      if (other_form && act != Activation::gelu && act != Activation::hard_sigmoid) continue;
      ModelSpec m = model({28, 28, 1}, {conv("c", 4, {3, 3}, {2, 2}, valid, act), simple(LayerKind::flatten, "f"),
                                        dense("h", 8, act), dense("d", 10, linear)});
      for (LayerSpec& l : m.layers) l.gelu_approximate = l.hard_sigmoid_keras3 = other_form;
      check(named(m, std::string(keras_name(act)) + (other_form ? " (other form)" : "")));
    }
  }
}

TEST(OnnxInOpenCv, ActivationLayersPaddingAndGlobalPooling) {
  LayerSpec plain = simple(LayerKind::re_lu, "r"), sloped = plain, leaky = simple(LayerKind::leaky_re_lu, "l");
  sloped.name = "r_1";
  sloped.negative_slope = 0.2;  // a LeakyRelu node
  leaky.negative_slope = 0.3;
  LayerSpec elu = simple(LayerKind::elu, "e");
  elu.elu_alpha = 0.5;
  LayerSpec pad = simple(LayerKind::zero_padding2d, "p");
  pad.pads = {1, 2, 0, 3};
  LayerSpec average = simple(LayerKind::global_average_pooling2d, "g"), max = simple(LayerKind::global_max_pooling2d, "gm");
  max.keepdims = true;
  const LayerSpec probabilities = simple(LayerKind::softmax, "s", 0, softmax);
  check(named(model({28, 28, 1}, {pad, conv("c", 6, {3, 3}, {2, 2}, valid, linear), plain, conv("c2", 6, {3, 3}, {1, 1}, same, linear),
                                  sloped, leaky, elu, simple(LayerKind::flatten, "f"), dense("d", 10, linear)}),
              "relu_leaky_elu_pad"));
  check(named(model({28, 28, 1}, {conv("c", 8, {3, 3}, {2, 2}, valid, relu), average, dense("d", 10, linear), probabilities}),
              "global_average_softmax"),
        Control::linear_activation);  // no Flatten of an image: the flatten order cannot differ
  // tanh, not relu, before the maximum: a channel's maximum is positive here, where relu changes nothing.
  check(named(model({28, 28, 1}, {conv("c", 8, {3, 3}, {2, 2}, valid, Activation::tanh), max,
                                  simple(LayerKind::flatten, "f"), dense("d", 10, linear)}),
              "global_max_keepdims"),
        Control::linear_activation);  // (1, 1, 8): either flatten order is the same
}

}  // namespace
}  // namespace fmnist::test
