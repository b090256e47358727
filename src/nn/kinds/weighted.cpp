// The weighted layers' shared rules (weighted.hpp): what Conv2D, Dense and the depthwise
// convolutions read, write, describe and hold alike.
#include "weighted.hpp"

#include <ostream>

#include "../keras_fields.hpp"

namespace fmnist {

void read_weighted_fields(KerasFields& f, LayerSpec& l, const char* kernel_key) {
  l.activation = f.choice("activation", {Activation::relu, Activation::linear, Activation::softmax}, Activation::linear);
  l.use_bias = f.boolean("use_bias", true);
  l.kernel_initializer = read_kernel_initializer(f, kernel_key);
  f.initializer("bias_initializer", Initializer::zeros, {Initializer::zeros});
}

Initializer read_kernel_initializer(KerasFields& f, const char* key) {
  return f.initializer(key, Initializer::glorot_uniform,
                       {Initializer::glorot_uniform, Initializer::he_uniform, Initializer::he_normal, Initializer::zeros});
}

void write_weighted_fields(const LayerSpec& l, nlohmann::ordered_json& c) {
  c["activation"] = keras_name(l.activation);
  c["use_bias"] = l.use_bias;
  c["kernel_initializer"] = initializer_json(l.kernel_initializer);
  c["bias_initializer"] = initializer_json(Initializer::zeros);
  for (const char* key : {"kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint",
                          "bias_constraint"})
    c[key] = nullptr;
}

void describe_weighted(const LayerSpec& l, std::ostream& out) {
  out << " " << keras_name(l.activation) << (l.use_bias ? "" : " no bias") << " " << keras_name(l.kernel_initializer);
}

std::vector<WeightSpec> kernel_and_bias(const LayerSpec& l, Shape kernel) {
  std::vector<WeightSpec> weights{{"kernel", std::move(kernel), l.kernel_initializer}};
  if (l.use_bias) weights.push_back({"bias", {l.units}, Initializer::zeros});
  return weights;
}

void add_onnx_bias(OnnxGraph& graph, const PlannedLayer& layer, std::vector<std::string>& inputs) {
  if (layer.plan().tensors.size() < 2) return;
  const TensorSpec& b = layer.tensor(1);
  inputs.push_back(graph.weights("bias", {std::int64_t(b.size)}, graph.values(b), b));
}

}  // namespace fmnist
