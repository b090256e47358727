// The weighted layers' shared rules (weighted.hpp): what Conv2D, Dense and the depthwise
// convolutions read, write, describe and hold alike (the activation by activations.hpp, the
// initializers by keras_fields.hpp).
#include "weighted.hpp"

#include <ostream>

#include "../keras_fields.hpp"
#include "activations.hpp"

namespace fmnist {

namespace {
namespace weighted_kind {  // a name of its own: src/nn/kinds/*.cpp compile as one unit

// Every initializer for a kernel; a bias takes all but orthogonal (Keras's needs two dimensions).
std::vector<Initializer> initializers(bool kernel) {
  std::vector<Initializer> all;
  for (std::size_t i = 0; i < static_cast<std::size_t>(Initializer::count); ++i) {
    if (kernel || static_cast<Initializer>(i) != Initializer::orthogonal) all.push_back(static_cast<Initializer>(i));
  }
  return all;
}

}  // namespace weighted_kind
}  // namespace

void read_weighted_fields(KerasFields& f, LayerSpec& l) {
  read_activation(f, l, false);
  l.use_bias = f.boolean("use_bias", true);
  l.kernel_initializer =
      f.initializer("kernel_initializer", Initializer::glorot_uniform, weighted_kind::initializers(true),
                    &l.kernel_initializer_args);
  l.bias_initializer = f.initializer("bias_initializer", Initializer::zeros, weighted_kind::initializers(false),
                                     &l.bias_initializer_args);
  read_regularizers(f, l, {"kernel_regularizer", "bias_regularizer"});
}

Initializer read_kernel_initializer(KerasFields& f, const char* key) {
  return f.initializer(key, Initializer::glorot_uniform,
                       {Initializer::glorot_uniform, Initializer::he_uniform, Initializer::he_normal, Initializer::zeros});
}

void write_weighted_fields(const LayerSpec& l, nlohmann::ordered_json& c) {
  c["activation"] = activation_json(l);
  c["use_bias"] = l.use_bias;
  c["kernel_initializer"] = initializer_json(l.kernel_initializer, l.kernel_initializer_args);
  c["bias_initializer"] = initializer_json(l.bias_initializer, l.bias_initializer_args);
  c["kernel_regularizer"] = regularizer_json(l, "kernel_regularizer");
  c["bias_regularizer"] = regularizer_json(l, "bias_regularizer");
  for (const char* key : {"activity_regularizer", "kernel_constraint", "bias_constraint"}) c[key] = nullptr;
}

void describe_weighted(const LayerSpec& l, std::ostream& out) {
  out << " " << activation_text(l) << (l.use_bias ? "" : " no bias") << " "
      << initializer_text(l.kernel_initializer, l.kernel_initializer_args);
  if (l.use_bias && (l.bias_initializer != Initializer::zeros || l.bias_initializer_args != InitializerArgs{}))
    out << " bias " << initializer_text(l.bias_initializer, l.bias_initializer_args);
}

std::vector<WeightSpec> kernel_and_bias(const LayerSpec& l, Shape kernel) {
  std::vector<WeightSpec> weights{
      {"kernel", std::move(kernel), l.kernel_initializer, true, l.kernel_initializer_args, "kernel_regularizer"}};
  if (l.use_bias)
    weights.push_back({"bias", {l.units}, l.bias_initializer, true, l.bias_initializer_args, "bias_regularizer"});
  return weights;
}

void add_onnx_bias(OnnxGraph& graph, const PlannedLayer& layer, std::vector<std::string>& inputs) {
  if (layer.plan().tensors.size() < 2) return;
  const TensorSpec& b = layer.tensor(1);
  inputs.push_back(graph.weights("bias", {std::int64_t(b.size)}, graph.values(b), b));
}

}  // namespace fmnist
