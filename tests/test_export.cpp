// Tests of the ONNX export, read back with ONNX's own protobuf classes: the graph's interface
// (names, NHWC float32 input, dynamic batch, two outputs), the operators each spec becomes, the
// weights rearranged for ONNX (Conv (out, in, kh, kw), Gemm's kernel transposed with transB=1, the
// depthwise kernels grouped), TensorFlow's padding as explicit pads, dilations, augmentation left out, and the refusals. The numbers
// themselves are checked by two independent runtimes in tests/interop/ (OpenCV's dnn and ONNX Runtime).
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <cmath>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "fmnist/error.hpp"
#include "fmnist/export.hpp"
#include "expect_error.hpp"
#include "temp_dir.hpp"
#include "test_nn_specs.hpp"

namespace fmnist::test {
namespace {

// Weights 0, 1, 2, ... in arena order: each value tells where it came from.
std::vector<float> counting_weights(const ModelSpec& spec) {
  std::vector<float> w(plan_model(spec).num_params);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = float(i);
  return w;
}

onnx::ModelProto exported(const ModelSpec& spec, const OnnxExportOptions& options = {}) {
  onnx::ModelProto m;
  EXPECT_TRUE(m.ParseFromString(onnx_model(spec, counting_weights(spec), options)));
  return m;
}

std::vector<std::string> op_types(const onnx::ModelProto& m) {
  std::vector<std::string> ops;
  for (const auto& n : m.graph().node()) ops.push_back(n.op_type());
  return ops;
}

const onnx::NodeProto& node(const onnx::ModelProto& m, const std::string& output) {
  for (const auto& n : m.graph().node()) {
    if (n.output(0) == output) return n;
  }
  throw std::runtime_error("no node writes " + output);
}

std::vector<std::int64_t> ints(const onnx::NodeProto& n, const std::string& name) {
  for (const auto& a : n.attribute()) {
    if (a.name() == name) return {a.ints().begin(), a.ints().end()};
  }
  return {};
}

std::int64_t attribute_int(const onnx::NodeProto& n, const std::string& name, std::int64_t absent) {
  for (const auto& a : n.attribute()) {
    if (a.name() == name) return a.i();
  }
  return absent;
}

const onnx::TensorProto& initializer(const onnx::ModelProto& m, const std::string& name) {
  for (const auto& t : m.graph().initializer()) {
    if (t.name() == name) return t;
  }
  throw std::runtime_error("no initializer " + name);
}

float value(const onnx::TensorProto& t, std::size_t i) {
  float v;
  std::memcpy(&v, t.raw_data().data() + i * sizeof(float), sizeof v);
  return v;
}

// "N" for the dynamic batch, else the size.
std::vector<std::string> shape_of(const onnx::ValueInfoProto& v) {
  std::vector<std::string> dims;
  for (const auto& d : v.type().tensor_type().shape().dim())
    dims.push_back(d.has_dim_param() ? d.dim_param() : std::to_string(d.dim_value()));
  return dims;
}

TEST(OnnxExport, TutorialInterfaceAndOperators) {
  const onnx::ModelProto m = exported(tutorial_model_spec());
  EXPECT_EQ(m.ir_version(), 8);
  ASSERT_EQ(m.opset_import_size(), 1);
  EXPECT_EQ(m.opset_import(0).domain(), "");
  EXPECT_EQ(m.opset_import(0).version(), kOnnxOpset);
  const auto& g = m.graph();
  ASSERT_EQ(g.input_size(), 1);
  EXPECT_EQ(g.input(0).name(), "input");
  EXPECT_EQ(g.input(0).type().tensor_type().elem_type(), onnx::TensorProto::FLOAT);
  EXPECT_EQ(shape_of(g.input(0)), (std::vector<std::string>{"N", "28", "28", "1"}));
  ASSERT_EQ(g.output_size(), 2);
  EXPECT_EQ(g.output(0).name(), "output");
  EXPECT_EQ(g.output(1).name(), "logits");
  EXPECT_EQ(shape_of(g.output(0)), (std::vector<std::string>{"N", "10"}));
  EXPECT_EQ(shape_of(g.output(1)), (std::vector<std::string>{"N", "10"}));
  EXPECT_EQ(op_types(m), (std::vector<std::string>{"Transpose", "Conv", "Relu", "MaxPool", "Conv", "Relu", "MaxPool",
                                                   "Conv", "Relu", "Transpose", "Flatten", "Gemm", "Relu", "Gemm",
                                                   "Softmax"}));
  EXPECT_EQ(ints(node(m, "conv2d/Transpose"), "perm"), (std::vector<std::int64_t>{0, 3, 1, 2}));
  EXPECT_EQ(ints(node(m, "flatten/Transpose"), "perm"), (std::vector<std::int64_t>{0, 2, 3, 1}));
  EXPECT_EQ(attribute_int(node(m, "flatten/Flatten"), "axis", -1), 1);
  const onnx::NodeProto& softmax = node(m, "output");
  EXPECT_EQ(softmax.op_type(), "Softmax");
  EXPECT_EQ(softmax.input(0), "logits");
  EXPECT_EQ(attribute_int(softmax, "axis", -1), 1);
  EXPECT_EQ(node(m, "logits").op_type(), "Gemm");
  for (const auto& n : g.node()) {
    if (n.op_type() == "Gemm") {
      EXPECT_EQ(attribute_int(n, "transB", 0), 1) << n.name();
    }
  }
  // Every layer's shape is in the graph (shape inference, checked against the plan).
  bool found = false;
  for (const auto& v : g.value_info()) {
    if (v.name() == "max_pooling2d_1/MaxPool") {
      found = true;
      EXPECT_EQ(shape_of(v), (std::vector<std::string>{"N", "64", "5", "5"}));
    }
  }
  EXPECT_TRUE(found);
}

TEST(OnnxExport, WeightsAreRearrangedForOnnx) {
  const ModelSpec spec = tutorial_model_spec();
  const ModelPlan plan = plan_model(spec);
  const onnx::ModelProto m = exported(spec);
  // conv2d_1: Keras (3, 3, 32, 64) at its offset; ONNX (64, 32, 3, 3).
  const TensorSpec& k = plan.tensors[plan.layers[2].tensors[0]];
  const onnx::TensorProto& w = initializer(m, "conv2d_1/kernel");
  EXPECT_EQ(std::vector<std::int64_t>(w.dims().begin(), w.dims().end()), (std::vector<std::int64_t>{64, 32, 3, 3}));
  EXPECT_EQ(w.data_type(), onnx::TensorProto::FLOAT);
  ASSERT_EQ(w.raw_data().size(), k.size * sizeof(float));
  const int o = 5, c = 17, y = 2, x = 1;
  EXPECT_EQ(value(w, ((o * 32 + c) * 3 + y) * 3 + x), float(k.offset + ((y * 3 + x) * 32 + c) * 64 + o));
  EXPECT_NE(w.doc_string().find("conv2d_1/kernel:0 (3, 3, 32, 64)"), std::string::npos);
  // dense: Keras (576, 64); ONNX stores it as (64, 576) for Gemm's transB=1.
  const TensorSpec& d = plan.tensors[plan.layers[6].tensors[0]];
  const onnx::TensorProto& dw = initializer(m, "dense/kernel");
  EXPECT_EQ(std::vector<std::int64_t>(dw.dims().begin(), dw.dims().end()), (std::vector<std::int64_t>{64, 576}));
  EXPECT_EQ(value(dw, 7 * 576 + 300), float(d.offset + 300 * 64 + 7));
  const TensorSpec& b = plan.tensors[plan.layers[7].tensors[1]];
  EXPECT_EQ(value(initializer(m, "dense_1/bias"), 3), float(b.offset + 3));
  EXPECT_EQ(node(m, "logits").input_size(), 3);  // dense_1's Gemm, with its bias
}

TEST(OnnxExport, TensorFlowPaddingBecomesExplicitPads) {
  const auto same = Padding::same, valid = Padding::valid;
  const ModelSpec spec = model({28, 28, 1}, {conv("c", 4, {5, 5}, {2, 2}, same, Activation::relu, false),  // (14, 14)
                                             pool("a", false, {3, 3}, {2, 2}, same),                      // (7, 7)
                                             conv("e", 4, {4, 2}, {1, 1}, same, Activation::linear),      // (7, 7)
                                             pool("m", true, {2, 2}, {2, 2}, same),                       // (4, 4)
                                             pool("v", true, {3, 3}, {1, 1}, valid),                      // (2, 2)
                                             simple(LayerKind::flatten, "f"), dense("d", 10, Activation::softmax)});
  const onnx::ModelProto m = exported(spec);
  // Pads (top, left, bottom, right): total max((out - 1)·s + k - n, 0), the odd pixel after.
  EXPECT_EQ(ints(node(m, "c/Conv"), "pads"), (std::vector<std::int64_t>{1, 1, 2, 2}));
  EXPECT_EQ(ints(node(m, "c/Conv"), "strides"), (std::vector<std::int64_t>{2, 2}));
  EXPECT_EQ(node(m, "c/Conv").input_size(), 2);  // no bias
  EXPECT_EQ(ints(node(m, "a/AveragePool"), "pads"), (std::vector<std::int64_t>{0, 0, 1, 1}));
  EXPECT_EQ(attribute_int(node(m, "a/AveragePool"), "count_include_pad", -1), 0);
  EXPECT_EQ(ints(node(m, "e/Conv"), "pads"), (std::vector<std::int64_t>{1, 0, 2, 1}));
  EXPECT_EQ(ints(node(m, "e/Conv"), "kernel_shape"), (std::vector<std::int64_t>{4, 2}));
  EXPECT_EQ(ints(node(m, "m/MaxPool"), "pads"), (std::vector<std::int64_t>{0, 0, 1, 1}));
  EXPECT_EQ(ints(node(m, "v/MaxPool"), "pads"), (std::vector<std::int64_t>{0, 0, 0, 0}));
}

// A dilated Conv2D (dilations, pads of the dilated span), a DepthwiseConv2D (one Conv whose group is
// the input channels, kernel (in * dm, 1, kh, kw)) and a SeparableConv2D (that Conv without bias, then
// a 1x1 Conv with the pointwise kernel (filters, in * dm, 1, 1) and the bias).
TEST(OnnxExport, DepthwiseSeparableAndDilatedConvolutions) {
  LayerSpec c = conv("c", 4, {3, 3}, {1, 1}, Padding::same, Activation::relu);  // (28, 28, 4)
  c.dilation = {2, 2};
  const ModelSpec spec =
      model({28, 28, 1}, {c, depthwise("dw", 0, {3, 3}, {1, 1}, Padding::same, 2, Activation::linear),  // (28, 28, 8)
                          depthwise("sp", 6, {3, 3}, {1, 1}, Padding::valid, 1, Activation::relu, {1, 2}),  // (26, 24, 6)
                          simple(LayerKind::flatten, "f"), dense("d", 10, Activation::softmax)});
  const ModelPlan plan = plan_model(spec);
  const onnx::ModelProto m = exported(spec);
  EXPECT_EQ(op_types(m), (std::vector<std::string>{"Transpose", "Conv", "Relu", "Conv", "Conv", "Conv", "Relu",
                                                   "Transpose", "Flatten", "Gemm", "Softmax"}));
  EXPECT_EQ(ints(node(m, "c/Conv"), "dilations"), (std::vector<std::int64_t>{2, 2}));
  EXPECT_EQ(ints(node(m, "c/Conv"), "pads"), (std::vector<std::int64_t>{2, 2, 2, 2}));  // a span of 5
  // dw: Keras (3, 3, 4, 2) at its offset; ONNX (8, 1, 3, 3), output channel c * 2 + m.
  EXPECT_EQ(attribute_int(node(m, "dw/Conv"), "group", 1), 4);
  const onnx::TensorProto& w = initializer(m, "dw/depthwise_kernel");
  EXPECT_EQ(std::vector<std::int64_t>(w.dims().begin(), w.dims().end()), (std::vector<std::int64_t>{8, 1, 3, 3}));
  const TensorSpec& k = plan.tensors[plan.layers[1].tensors[0]];
  const int ch = 3, mult = 1, y = 2, x = 0;
  EXPECT_EQ(value(w, ((ch * 2 + mult) * 3 + y) * 3 + x), float(k.offset + ((y * 3 + x) * 4 + ch) * 2 + mult));
  EXPECT_EQ(node(m, "dw/Conv").input_size(), 3);  // with its bias
  // sp: the depthwise Conv, then the pointwise one: Keras (1, 1, 8, 6) as ONNX's (6, 8, 1, 1).
  EXPECT_EQ(attribute_int(node(m, "sp/depthwise"), "group", 1), 8);
  EXPECT_EQ(ints(node(m, "sp/depthwise"), "dilations"), (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(node(m, "sp/depthwise").input_size(), 2);
  const onnx::NodeProto& pointwise = node(m, "sp/pointwise");
  EXPECT_EQ(pointwise.input(0), "sp/depthwise");
  ASSERT_EQ(pointwise.input_size(), 3);
  EXPECT_EQ(pointwise.input(2), "sp/bias");
  const onnx::TensorProto& p = initializer(m, "sp/pointwise_kernel");
  EXPECT_EQ(std::vector<std::int64_t>(p.dims().begin(), p.dims().end()), (std::vector<std::int64_t>{6, 8, 1, 1}));
  const TensorSpec& pk = plan.tensors[plan.layers[2].tensors[1]];
  EXPECT_EQ(value(p, 4 * 8 + 7), float(pk.offset + 7 * 6 + 4));
}

TEST(OnnxExport, LogitsOutputDropoutAndActivationLayers) {
  // strided_average ends in a linear Dense: the output is the logits, through an Identity.
  onnx::ModelProto m = exported(strided_average());
  EXPECT_EQ(node(m, "output").op_type(), "Identity");
  EXPECT_EQ(node(m, "output").input(0), "logits");
  EXPECT_EQ(node(m, "logits").op_type(), "Gemm");
  EXPECT_EQ(node(m, "activation/Relu").input(0), "conv2d_1/Conv");
  // The MLP: no image layer, so no Transpose; Dropout is the identity at inference (no node).
  m = exported(mlp());
  EXPECT_EQ(op_types(m), (std::vector<std::string>{"Flatten", "Gemm", "Relu", "Gemm", "Softmax"}));
  EXPECT_EQ(node(m, "logits").input(0), "dense/Relu");
  // A softmax as its own Activation layer after a Dropout: the logits are the Dense's output.
  const ModelSpec spec = model({28, 28, 1}, {simple(LayerKind::flatten, "f"), dense("d", 10, Activation::linear, false),
                                             simple(LayerKind::dropout, "drop", 0.5),
                                             simple(LayerKind::activation, "probabilities", 0, Activation::softmax)});
  m = exported(spec);
  EXPECT_EQ(op_types(m), (std::vector<std::string>{"Flatten", "Gemm", "Softmax"}));
  EXPECT_EQ(node(m, "logits").input_size(), 2);  // no bias
  EXPECT_EQ(node(m, "output").input(0), "logits");
}

// Every activation on a Dense becomes its ONNX operators (gelu composed: opset 13 has no Gelu),
// which pass ONNX's checker and shape inference (onnx_model throws otherwise).
TEST(OnnxExport, EveryActivationBecomesItsOperators) {
  struct Case {
    Activation activation;
    std::vector<std::string> ops;  // after the Gemm
  };
  const std::vector<Case> cases = {
      {Activation::relu6, {"Clip"}},         {Activation::leaky_relu, {"LeakyRelu"}},   {Activation::elu, {"Elu"}},
      {Activation::selu, {"Selu"}},          {Activation::gelu, {"Div", "Erf", "Add", "Mul", "Mul"}},
      {Activation::swish, {"Sigmoid", "Mul"}}, {Activation::sigmoid, {"Sigmoid"}},      {Activation::tanh, {"Tanh"}},
      {Activation::softplus, {"Softplus"}},  {Activation::softsign, {"Softsign"}},      {Activation::hard_sigmoid, {"HardSigmoid"}},
      {Activation::exponential, {"Exp"}},    {Activation::linear, {}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(keras_name(c.activation));
    const ModelSpec spec = model({2, 2, 1}, {simple(LayerKind::flatten, "f"), dense("h", 5, c.activation), dense("d", 3, Activation::linear)});
    const onnx::ModelProto m = exported(spec);
    std::vector<std::string> want{"Flatten", "Gemm"};
    want.insert(want.end(), c.ops.begin(), c.ops.end());
    want.insert(want.end(), {"Gemm", "Identity"});
    EXPECT_EQ(op_types(m), want);
  }
  // gelu's second Mul gets its own name; the tanh form and the two hard_sigmoids' slopes.
  ModelSpec spec = model({2, 2, 1}, {simple(LayerKind::flatten, "f"), dense("h", 5, Activation::gelu), dense("d", 3, Activation::linear)});
  onnx::ModelProto m = exported(spec);
  EXPECT_EQ(node(m, "h/Mul_1").input(0), "h/Mul");
  EXPECT_EQ(value(initializer(m, "h/sqrt_2"), 0), float(std::sqrt(2.0)));
  spec.layers[1].gelu_approximate = true;
  EXPECT_EQ(op_types(exported(spec)), (std::vector<std::string>{"Flatten", "Gemm", "Mul", "Mul", "Mul", "Add", "Mul", "Tanh",
                                                                "Add", "Mul", "Mul", "Gemm", "Identity"}));
  spec.layers[1].activation = Activation::hard_sigmoid;
  for (bool keras3 : {false, true}) {
    spec.layers[1].hard_sigmoid_keras3 = keras3;
    m = exported(spec);
    EXPECT_FLOAT_EQ(node(m, "h/HardSigmoid").attribute(0).f(), keras3 ? 1.0f / 6 : 0.2f);
  }
}

// ReLU's four forms, Pad's pads (begins of N, C, H, W, then ends), global pooling with and
// without keepdims, and the activation layers' attributes.
TEST(OnnxExport, ActivationLayersPaddingAndGlobalPooling) {
  LayerSpec relu = simple(LayerKind::re_lu, "r");
  struct Form {
    std::optional<double> max_value;
    double slope, threshold;
    std::vector<std::string> ops;
  };
  for (const Form& f : std::vector<Form>{{{}, 0, 0, {"Relu"}},
                                         {6.0, 0, 0, {"Clip"}},
                                         {{}, 0.1, 0, {"LeakyRelu"}},
                                         {2.0, 0.1, 0.5, {"Min", "Sub", "Mul", "Greater", "Where"}},
                                         {{}, 0, 0.5, {"Sub", "Mul", "Greater", "Where"}}}) {
    relu.relu_max_value = f.max_value;
    relu.negative_slope = f.slope;
    relu.threshold = f.threshold;
    const onnx::ModelProto m = exported(model({2, 2, 1}, {relu, simple(LayerKind::flatten, "f"), dense("d", 3, Activation::linear)}));
    std::vector<std::string> want = f.ops;
    want.insert(want.end(), {"Flatten", "Gemm", "Identity"});
    EXPECT_EQ(op_types(m), want);
  }
  LayerSpec pad = simple(LayerKind::zero_padding2d, "p");
  pad.pads = {1, 2, 3, 4};
  LayerSpec average = simple(LayerKind::global_average_pooling2d, "g"), max = simple(LayerKind::global_max_pooling2d, "g");
  max.keepdims = true;
  LayerSpec leaky = simple(LayerKind::leaky_re_lu, "l"), elu = simple(LayerKind::elu, "e");
  leaky.negative_slope = 0.3;
  elu.elu_alpha = 0.5;
  onnx::ModelProto m = exported(model({5, 5, 2}, {pad, leaky, elu, average, dense("d", 3, Activation::linear)}));
  EXPECT_EQ(op_types(m), (std::vector<std::string>{"Transpose", "Pad", "LeakyRelu", "Elu", "GlobalAveragePool", "Transpose",
                                                   "Flatten", "Gemm", "Identity"}));
  const onnx::TensorProto& pads = initializer(m, "p/pads");
  EXPECT_EQ(pads.data_type(), onnx::TensorProto::INT64);
  std::vector<std::int64_t> got(8);
  std::memcpy(got.data(), pads.raw_data().data(), 8 * sizeof(std::int64_t));
  EXPECT_EQ(got, (std::vector<std::int64_t>{0, 0, 1, 3, 0, 0, 2, 4}));
  EXPECT_FLOAT_EQ(node(m, "l/LeakyRelu").attribute(0).f(), 0.3f);
  EXPECT_FLOAT_EQ(node(m, "e/Elu").attribute(0).f(), 0.5f);
  m = exported(model({5, 5, 2}, {max, simple(LayerKind::flatten, "f"), dense("d", 3, Activation::linear)}));
  EXPECT_EQ(op_types(m), (std::vector<std::string>{"Transpose", "GlobalMaxPool", "Transpose", "Flatten", "Gemm", "Identity"}));
}

// The augmentation layers are the identity at inference: the graph leaves them out, first layer
// or between a Conv2D and its pooling alike, and equals the graph of the model without them.
TEST(OnnxExport, LeavesOutTheAugmentationLayers) {
  const ModelSpec spec = read_keras_json(std::string(FMNIST_FIXTURES) + "/models/small_augment.json");
  ModelSpec plain = spec;
  std::erase_if(plain.layers, [](const LayerSpec& l) { return is_augmentation(l.kind); });
  ASSERT_EQ(plain.layers.size() + 4, spec.layers.size());
  const onnx::ModelProto m = exported(spec);
  EXPECT_EQ(op_types(m), (std::vector<std::string>{"Transpose", "Conv", "Relu", "MaxPool", "Transpose", "Flatten", "Gemm",
                                                     "Identity"}));
  EXPECT_EQ(m.graph().SerializeAsString(), exported(plain).graph().SerializeAsString());
}

TEST(OnnxExport, NegativeControlLeavesOutTheTransposeBeforeFlatten) {
  // The checker and shape inference accept it (onnx_model would throw otherwise).
  const onnx::ModelProto m = exported(tutorial_model_spec(), {.keras_flatten_order = false});
  EXPECT_EQ(node(m, "flatten/Flatten").input(0), "conv2d_2/Relu");
  const std::vector<std::string> ops = op_types(m);
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "Transpose"), 1);
}

// BatchNormalization in inference form, on NCHW after a Conv2D and on (N, C) after a Dense; the
// moving statistics as its mean and var, a missing gamma (scale=False) as ones.
TEST(OnnxExport, BatchNormalizationUsesTheMovingStatistics) {
  LayerSpec bn = simple(LayerKind::batch_normalization, "bn");
  LayerSpec bare = simple(LayerKind::batch_normalization, "bn_1");
  bare.scale = false;
  bare.epsilon = 0.01;
  const ModelSpec spec = model({6, 6, 1}, {conv("c", 2, {3, 3}, {1, 1}, Padding::valid, Activation::linear), bn,
                                           simple(LayerKind::flatten, "f"), dense("d", 3, Activation::linear), bare});
  const onnx::ModelProto m = exported(spec);
  EXPECT_EQ(op_types(m), (std::vector<std::string>{"Transpose", "Conv", "BatchNormalization", "Transpose", "Flatten", "Gemm",
                                                   "BatchNormalization", "Identity"}));
  const onnx::NodeProto& n = node(m, "bn/BatchNormalization");
  EXPECT_EQ(std::vector<std::string>(n.input().begin(), n.input().end()),
            (std::vector<std::string>{"c/Conv", "bn/gamma", "bn/beta", "bn/moving_mean", "bn/moving_variance"}));
  // Counting weights: conv 18 + 2, then gamma 20-21, beta 22-23, moving_mean 24-25, moving_variance 26-27.
  EXPECT_EQ(value(initializer(m, "bn/moving_mean"), 1), 25.0f);
  EXPECT_EQ(value(initializer(m, "bn/moving_variance"), 0), 26.0f);
  const onnx::NodeProto& b = node(m, "logits");  // the last layer: its output is renamed
  EXPECT_EQ(b.input(0), "d/Gemm");
  EXPECT_EQ(value(initializer(m, "bn_1/gamma"), 2), 1.0f);
  EXPECT_EQ(b.attribute(0).name(), "epsilon");
  EXPECT_FLOAT_EQ(b.attribute(0).f(), 0.01f);
}

// Every layer kind's nodes (its registry row's), walked through the kinds' examples: ONNX's checker
// accepts the graph and shape inference agrees with the plan at every layer (onnx_model throws
// otherwise); a kind with nodes names them after its layer, one without is the identity.
TEST(OnnxExport, EveryLayerKindExports) {
  for (std::size_t k = 0; k < kLayerKindCount; ++k) {
    const auto kind = static_cast<LayerKind>(k);
    SCOPED_TRACE(keras_name(kind));
    const auto e = std::find_if(kind_examples().begin(), kind_examples().end(),
                                [&](const KindExample& x) { return x.kind == kind; });
    ASSERT_NE(e, kind_examples().end()) << "no example in kind_examples() (test_nn_specs.hpp)";
    const ModelSpec spec = parse_keras_json(kind_example_json(*e, e->config), "example.json");
    const onnx::ModelProto m = exported(spec);
    std::size_t own = 0;
    for (const auto& n : m.graph().node()) own += n.name().rfind("example/", 0) == 0;
    ModelSpec without = spec;
    without.layers.erase(without.layers.begin() + std::ptrdiff_t(kind_example_index(*e)));
    if (e->last) without.layers.back().activation = Activation::softmax;  // a final Softmax is Dense's softmax
    if (own == 0) {  // the identity at inference: the same graph as without the layer
      EXPECT_EQ(m.graph().SerializeAsString(), exported(without).graph().SerializeAsString());
    }
  }
}

TEST(OnnxExport, WritesAtomicallyAndDescribesWhatItWrote) {
  TempDir dir;
  const ModelSpec spec = tutorial_model_spec();
  const std::vector<float> w = counting_weights(spec);
  const std::string text = export_onnx(spec, w, dir.file("m.onnx"));
  EXPECT_EQ(text.rfind("Wrote " + dir.file("m.onnx") + " (", 0), 0u) << text;
  EXPECT_NE(text.find("ONNX opset 13, 15 nodes, " + std::to_string(w.size()) +
                      " parameters; input 'input' float32 (N, 28, 28, 1) NHWC"),
            std::string::npos) << text;
  EXPECT_NE(text.find("'output' (N, 10) (softmax probabilities) and 'logits' (N, 10)"), std::string::npos) << text;
  std::ifstream in(dir.file("m.onnx"), std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  EXPECT_EQ(bytes.str(), onnx_model(spec, w));
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"m.onnx"}));
  EXPECT_NE(export_onnx(strided_average(), counting_weights(strided_average()), dir.file("s.onnx"))
                .find("(the logits: the model ends without softmax)"),
            std::string::npos);
}

TEST(OnnxExport, Refusals) {
  ModelSpec spec = tutorial_model_spec();
  spec.source = "ckpt.h5";
  std::vector<float> w = counting_weights(spec);
  std::vector<float> fewer(w.begin(), w.end() - 1);
  EXPECT_EQ(expect_error(Exit::checkpoint, [&] { onnx_model(spec, fewer); }),
            "ckpt.h5: cannot export: it holds " + std::to_string(fewer.size()) + " weights, but its model has " +
                std::to_string(w.size()));
  w[400] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(expect_error(Exit::checkpoint, [&] { onnx_model(spec, w); }),
            "ckpt.h5: cannot export: conv2d_1/kernel:0 holds NaN or infinite values");
  w[400] = 0;
  TempDir dir;
  const std::string message = expect_error(Exit::checkpoint, [&] { export_onnx(spec, w, dir.file("missing/m.onnx")); });
  EXPECT_NE(message.find(dir.file("missing/m.onnx") + ": cannot write"), std::string::npos) << message;
  EXPECT_TRUE(dir.entries().empty());
}

}  // namespace
}  // namespace fmnist::test
