// The activation layers (docs/models.md: Activations): ReLU(max_value, negative_slope, threshold),
// LeakyReLU(alpha), ELU(alpha) and Softmax(axis -1, on the last layer only: trained on the logits
// before it, like a final softmax activation). Their rows of the layer registry, with the fields
// and checks of Keras 2's tf_keras/layers/activation/*.py and Keras 3's
// keras/src/layers/activations/*.py; the kernels are src/nn/relu.cpp and src/nn/elementwise.cpp.
#include <cmath>
#include <limits>
#include <ostream>

#include "../keras_fields.hpp"
#include "activations.hpp"
#include "fmnist/text.hpp"

namespace fmnist {
namespace {
namespace activation_layers_kind {  // a name of its own: src/nn/kinds/*.cpp compile as one unit

constexpr double kLargest = std::numeric_limits<double>::max();

// ---- ReLU: Keras's relu(x, negative_slope, max_value, threshold), all three applied ----------------

// A finite number >= 0, `fallback` when absent: the check of Keras 3's ReLU and LeakyReLU.
double at_least_zero(KerasFields& f, const char* key, double fallback) {
  const double value = f.number(key, fallback);
  if (value < 0) f.fail(key, number_text(value), "is negative (Keras takes only values >= 0)");
  return value;
}

// Keras's checks (both lines): max_value null or >= 0, negative_slope >= 0, threshold >= 0.
void relu_read(KerasFields& f, LayerSpec& l) {
  if (f.find("max_value") != nullptr) l.relu_max_value = at_least_zero(f, "max_value", 0);
  l.negative_slope = at_least_zero(f, "negative_slope", 0);
  l.threshold = at_least_zero(f, "threshold", 0);
}

void relu_write(const LayerSpec& l, const Shape*, nlohmann::ordered_json& c) {
  c["max_value"] = l.relu_max_value ? nlohmann::ordered_json(*l.relu_max_value) : nlohmann::ordered_json(nullptr);
  c["negative_slope"] = l.negative_slope;
  c["threshold"] = l.threshold;
}

Shape relu_shape(const LayerCheck& check, const LayerSpec& l, std::span<const Shape> inputs) {
  auto at_least_zero = [&](const char* field, double value) {
    if (!(value >= 0 && value <= kLargest)) check.fail(field, number_text(value), "is not a finite number >= 0");
  };
  if (l.relu_max_value) at_least_zero("max_value", *l.relu_max_value);
  at_least_zero("negative_slope", l.negative_slope);
  at_least_zero("threshold", l.threshold);
  return inputs[0];
}

void relu_describe(const LayerSpec& l, std::ostream& out) {
  out << " max_value " << (l.relu_max_value ? number_text(*l.relu_max_value) : "none") << " negative_slope "
      << number_text(l.negative_slope) << " threshold " << number_text(l.threshold);
}

bool plain_relu(const LayerSpec& l) { return !l.relu_max_value && l.negative_slope == 0 && l.threshold == 0; }

ElementwiseFn relu_fn(const LayerSpec& l) {
  ElementwiseFn fn;
  fn.slope = l.negative_slope;
  fn.threshold = l.threshold;
  if (l.relu_max_value) fn.ceiling = *l.relu_max_value;
  return fn;
}

// Relu, Clip (a ceiling), LeakyRelu (a slope), or x > t ? min(x, max) : slope * (x - t) as
// Where(Greater(x, t), Min(x, max), Mul(Sub(x, t), slope)).
void relu_onnx(OnnxGraph& g, const PlannedLayer& layer) {
  const LayerSpec& l = layer.spec();
  const std::string x = g.input();
  if (plain_relu(l)) {
    g.node("Relu", {x});
  } else if (l.threshold == 0 && l.negative_slope == 0) {
    g.node("Clip", {x, g.constant("zero", 0.0f), g.constant("max_value", float(*l.relu_max_value))});
  } else if (l.threshold == 0 && !l.relu_max_value) {
    g.node("LeakyRelu", {x}, {{"alpha", float(l.negative_slope)}});
  } else {
    const std::string t = g.constant("threshold", float(l.threshold));
    const std::string above = l.relu_max_value ? g.node("Min", {x, g.constant("max_value", float(*l.relu_max_value))}) : x;
    const std::string below = g.node("Mul", {g.node("Sub", {x, t}), g.constant("negative_slope", float(l.negative_slope))});
    g.node("Where", {g.node("Greater", {x, t}), above, below});
  }
}

// The plain ReLU is Activation('relu')'s Relu; with parameters, an Elementwise.
template <typename T>
BuiltLayer<T> relu_make(const LayerBuild<T>& b) {
  const LayerSpec& l = b.layer.spec();
  const std::size_t size = shape_size(b.layer.plan().input_shape);
  if (plain_relu(l)) return own<T>(std::make_unique<Relu<T>>(size));
  return own<T>(std::make_unique<Elementwise<T>>(relu_fn(l), size));
}

// ---- LeakyReLU: x > 0 ? x : alpha * x --------------------------------------------------------------

// Keras 2's alpha (any number) or Keras 3's negative_slope (>= 0; it still takes alpha), default 0.3.
void leaky_read(KerasFields& f, LayerSpec& l) {
  const nlohmann::json* alpha = f.find("alpha");
  const bool keras3 = f.find("negative_slope") != nullptr;
  if (alpha != nullptr && keras3)
    f.fail("alpha", value_text(*alpha), "is given with 'negative_slope' (the same slope: give one of them)");
  l.negative_slope = keras3 ? at_least_zero(f, "negative_slope", 0.3) : f.number("alpha", 0.3);
}

void leaky_write(const LayerSpec& l, const Shape*, nlohmann::ordered_json& c) { c["alpha"] = l.negative_slope; }

Shape leaky_shape(const LayerCheck& check, const LayerSpec& l, std::span<const Shape> inputs) {
  if (!(std::abs(l.negative_slope) <= kLargest)) check.fail("alpha", number_text(l.negative_slope), "is not a finite number");
  return inputs[0];
}

void leaky_describe(const LayerSpec& l, std::ostream& out) { out << " alpha " << number_text(l.negative_slope); }

void leaky_onnx(OnnxGraph& g, const PlannedLayer& layer) {
  g.node("LeakyRelu", {g.input()}, {{"alpha", float(layer.spec().negative_slope)}});
}

template <typename T>
BuiltLayer<T> leaky_make(const LayerBuild<T>& b) {
  ElementwiseFn fn;
  fn.slope = b.layer.spec().negative_slope;
  return own<T>(std::make_unique<Elementwise<T>>(fn, shape_size(b.layer.plan().input_shape)));
}

// ---- ELU: x > 0 ? x : alpha * (exp(x) - 1) ---------------------------------------------------------

void elu_read(KerasFields& f, LayerSpec& l) { l.elu_alpha = f.number("alpha", 1.0); }

void elu_write(const LayerSpec& l, const Shape*, nlohmann::ordered_json& c) { c["alpha"] = l.elu_alpha; }

Shape elu_shape(const LayerCheck& check, const LayerSpec& l, std::span<const Shape> inputs) {
  if (!(std::abs(l.elu_alpha) <= kLargest)) check.fail("alpha", number_text(l.elu_alpha), "is not a finite number");
  return inputs[0];
}

void elu_describe(const LayerSpec& l, std::ostream& out) { out << " alpha " << number_text(l.elu_alpha); }

void elu_onnx(OnnxGraph& g, const PlannedLayer& layer) {
  g.node("Elu", {g.input()}, {{"alpha", float(layer.spec().elu_alpha)}});
}

template <typename T>
BuiltLayer<T> elu_make(const LayerBuild<T>& b) {
  ElementwiseFn fn;
  fn.kind = ElementwiseFn::Kind::elu;
  fn.alpha = b.layer.spec().elu_alpha;
  return own<T>(std::make_unique<Elementwise<T>>(fn, shape_size(b.layer.plan().input_shape)));
}

// ---- Softmax: the model's output, on the last layer only ---------------------------------------------

void softmax_read(KerasFields& f, LayerSpec& l) {
  f.only("axis", {-1, nlohmann::json::array({-1})}, "only -1");
  l.activation = Activation::softmax;  // what the planner, the loss and the exports look at
}

void softmax_write(const LayerSpec&, const Shape*, nlohmann::ordered_json& c) { c["axis"] = -1; }

Shape softmax_shape(const LayerCheck& check, const LayerSpec&, std::span<const Shape> inputs) {
  if (inputs[0].size() != 1)
    check.fail("axis", "-1", "needs a flat input of class scores, but the input is " + shape_text(inputs[0]));
  return inputs[0];
}

void softmax_onnx(OnnxGraph& g, const PlannedLayer&) { g.activation(Activation::softmax); }

template <typename T>
BuiltLayer<T> softmax_make(const LayerBuild<T>&) {
  return {};  // the loss takes the logits: the layer's output is its input
}

}  // namespace activation_layers_kind
}  // namespace

extern const LayerKindRow re_lu_row = {.kind = LayerKind::re_lu,
                                       .keras_class = "ReLU",
                                       .base_name = "re_lu",
                                       FMNIST_KIND_FUNCTIONS(activation_layers_kind, relu_),
                                       .describe = activation_layers_kind::relu_describe,
                                       .onnx = activation_layers_kind::relu_onnx,
                                       .pass_through = true};

extern const LayerKindRow leaky_re_lu_row = {.kind = LayerKind::leaky_re_lu,
                                             .keras_class = "LeakyReLU",
                                             .base_name = "leaky_re_lu",
                                             FMNIST_KIND_FUNCTIONS(activation_layers_kind, leaky_),
                                             .describe = activation_layers_kind::leaky_describe,
                                             .onnx = activation_layers_kind::leaky_onnx,
                                             .pass_through = true};

extern const LayerKindRow elu_row = {.kind = LayerKind::elu,
                                     .keras_class = "ELU",
                                     .base_name = "elu",
                                     FMNIST_KIND_FUNCTIONS(activation_layers_kind, elu_),
                                     .describe = activation_layers_kind::elu_describe,
                                     .onnx = activation_layers_kind::elu_onnx,
                                     .pass_through = true};

extern const LayerKindRow softmax_row = {.kind = LayerKind::softmax,
                                         .keras_class = "Softmax",
                                         .base_name = "softmax",
                                         FMNIST_KIND_FUNCTIONS(activation_layers_kind, softmax_),
                                         .onnx = activation_layers_kind::softmax_onnx,
                                         .pass_through = true};

}  // namespace fmnist
