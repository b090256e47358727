// Keras's activation functions by name (activations.hpp): the names of Keras 3's
// keras/src/activations/__init__.py and tf_keras/activations.py, their JSON forms, and their ONNX
// nodes (the formulas the kernels compute are in src/nn/elementwise.cpp).
#include "activations.hpp"

#include <cmath>
#include <numbers>

#include "../keras_fields.hpp"

namespace fmnist {
namespace {
using json = nlohmann::json;
namespace activations_kind {  // a name of its own: src/nn/kinds/*.cpp compile as one unit

// The activation's name and arguments in a JSON value; false if it has none of the forms.
bool activation_name(const json& v, std::string& name, bool& keras3, const json*& arguments) {
  if (v.is_string()) {
    name = v.get<std::string>();
    return true;
  }
  if (!v.is_object() || !v.contains("config")) return false;
  keras3 |= v.contains("module") || v.contains("registered_name");
  const json& config = v["config"];
  if (config.is_string()) {
    name = config.get<std::string>();
    return true;
  }
  if (!config.is_object() || !config.contains("name") || !config["name"].is_string()) return false;
  name = config["name"].get<std::string>();
  arguments = &config;
  return true;
}

std::string activation_names() {
  std::string names;
  for (const char* n : KerasNames<Activation>::names) names += std::string(names.empty() ? "" : ", ") + n;
  return names + " (silu is swish)";
}

// A float32 scalar named after its value's role.
std::string scalar(OnnxGraph& g, const char* what, double value) { return g.constant(what, float(value)); }

// gelu(x) = 0.5 x (1 + erf(x / sqrt 2)), or with tanh(sqrt(2 / pi) (x + 0.044715 x^3)) for the
// tanh form (tf.nn.gelu).
void add_onnx_gelu(OnnxGraph& g, const std::string& x, bool approximate) {
  std::string inner;
  if (approximate) {
    const std::string cube = g.node("Mul", {g.node("Mul", {x, x}), x});
    const std::string sum = g.node("Add", {x, g.node("Mul", {cube, scalar(g, "coefficient", 0.044715)})});
    inner = g.node("Tanh", {g.node("Mul", {sum, scalar(g, "sqrt_2_over_pi", std::sqrt(2 / std::numbers::pi))})});
  } else {
    inner = g.node("Erf", {g.node("Div", {x, scalar(g, "sqrt_2", std::numbers::sqrt2)})});
  }
  const std::string gate = g.node("Add", {inner, scalar(g, "one", 1)});
  g.node("Mul", {g.node("Mul", {x, gate}), scalar(g, "half", 0.5)});
}

}  // namespace activations_kind
}  // namespace

void read_activation(KerasFields& f, LayerSpec& l, bool required) {
  const json* v = required ? &f.require("activation") : f.find("activation");
  l.activation = Activation::linear;
  if (v == nullptr) return;
  std::string name;
  bool keras3 = f.keras3();
  const json* arguments = nullptr;
  if (!activations_kind::activation_name(*v, name, keras3, arguments))
    f.fail("activation", value_text(*v), "is not an activation name");
  if (name == "silu") name = "swish";  // keras/src/activations/__init__.py: the same function
  for (std::size_t i = 0; i < KerasNames<Activation>::names.size(); ++i) {
    if (name == KerasNames<Activation>::names[i]) l.activation = static_cast<Activation>(i);
  }
  if (name != keras_name(l.activation))
    f.fail("activation", value_text(*v), "is not supported (" + activations_kind::activation_names() + ")");
  const json none = json::object();
  for (const auto& [key, value] : (arguments != nullptr ? *arguments : none).items()) {
    if (key == "name") continue;
    if (key != "approximate" || l.activation != Activation::gelu || !value.is_boolean())
      f.fail("activation", value_text(*v), "is not supported (its '" + key + "': only gelu's approximate, true or false)");
    l.gelu_approximate = value.get<bool>();
  }
  l.hard_sigmoid_keras3 = l.activation == Activation::hard_sigmoid && keras3;
}

nlohmann::ordered_json activation_json(const LayerSpec& l) {
  if (l.activation == Activation::hard_sigmoid && l.hard_sigmoid_keras3)
    return {{"module", "keras.activations"}, {"class_name", "function"}, {"config", "hard_sigmoid"},
            {"registered_name", "hard_sigmoid"}};
  if (l.activation == Activation::gelu && l.gelu_approximate)
    return {{"class_name", "function"}, {"config", {{"name", "gelu"}, {"approximate", true}}}};
  return keras_name(l.activation);
}

std::string activation_text(const LayerSpec& l) {
  std::string text = keras_name(l.activation);
  if (l.activation == Activation::gelu && l.gelu_approximate) text += " (tanh)";
  if (l.activation == Activation::hard_sigmoid) text += l.hard_sigmoid_keras3 ? " (Keras 3)" : " (Keras 2)";
  return text;
}

bool runs_after_kernel(const LayerSpec& l) {
  return l.activation != Activation::linear && l.activation != Activation::relu && l.activation != Activation::softmax;
}

ElementwiseFn elementwise_fn(const LayerSpec& l) {
  using Kind = ElementwiseFn::Kind;
  ElementwiseFn fn;
  switch (l.activation) {
    case Activation::relu6: fn.ceiling = 6; break;
    case Activation::leaky_relu: fn.slope = 0.2; break;  // keras/src/activations/activations.py leaky_relu
    case Activation::elu: fn.kind = Kind::elu; break;
    case Activation::selu: fn.kind = Kind::selu; break;
    case Activation::gelu: fn.kind = l.gelu_approximate ? Kind::gelu_tanh : Kind::gelu; break;
    case Activation::swish: fn.kind = Kind::swish; break;
    case Activation::sigmoid: fn.kind = Kind::sigmoid; break;
    case Activation::tanh: fn.kind = Kind::tanh; break;
    case Activation::softplus: fn.kind = Kind::softplus; break;
    case Activation::softsign: fn.kind = Kind::softsign; break;
    case Activation::hard_sigmoid: fn.kind = l.hard_sigmoid_keras3 ? Kind::hard_sigmoid_relu6 : Kind::hard_sigmoid; break;
    case Activation::exponential: fn.kind = Kind::exponential; break;
    default: break;  // relu
  }
  return fn;
}

void add_onnx_activation(OnnxGraph& g, const LayerSpec& l) {
  const std::string x = g.input();
  switch (l.activation) {
    case Activation::relu6:
      g.node("Clip", {x, activations_kind::scalar(g, "zero", 0), activations_kind::scalar(g, "six", 6)});
      return;
    case Activation::leaky_relu: g.node("LeakyRelu", {x}, {{"alpha", 0.2f}}); return;
    case Activation::elu: g.node("Elu", {x}, {{"alpha", 1.0f}}); return;
    case Activation::selu:  // tf.nn.selu's constants
      g.node("Selu", {x}, {{"alpha", float(1.6732632423543772848)}, {"gamma", float(1.0507009873554804934)}});
      return;
    case Activation::gelu: activations_kind::add_onnx_gelu(g, x, l.gelu_approximate); return;
    case Activation::swish: g.node("Mul", {x, g.node("Sigmoid", {x})}); return;
    case Activation::sigmoid: g.node("Sigmoid", {x}); return;
    case Activation::tanh: g.node("Tanh", {x}); return;
    case Activation::softplus: g.node("Softplus", {x}); return;
    case Activation::softsign: g.node("Softsign", {x}); return;
    case Activation::hard_sigmoid:  // max(0, min(1, alpha x + beta)): Keras 2's 0.2, Keras 3's 1/6
      g.node("HardSigmoid", {x}, {{"alpha", l.hard_sigmoid_keras3 ? float(1.0 / 6) : 0.2f}, {"beta", 0.5f}});
      return;
    case Activation::exponential: g.node("Exp", {x}); return;
    default: g.activation(l.activation);  // linear, relu, softmax
  }
}

}  // namespace fmnist
