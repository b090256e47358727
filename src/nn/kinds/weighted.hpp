// The weighted layers' shared rules (Conv2D, Dense, DepthwiseConv2D, SeparableConv2D): activation,
// use_bias and the initializers in Keras JSON and in the describe text, their kernel and bias
// tensors, and the bias in ONNX.
#pragma once

#include <iosfwd>

#include "../registry.hpp"
#include "fmnist/onnx_graph.hpp"

namespace fmnist {

// Reads activation (relu, linear, softmax), use_bias, the kernel's initializer (the field
// kernel_key: DepthwiseConv2D and SeparableConv2D call it depthwise_initializer) and
// bias_initializer (zeros only: biases always start at zero).
void read_weighted_fields(KerasFields& f, LayerSpec& l, const char* kernel_key = "kernel_initializer");
// A kernel's initializer, field `key`: glorot_uniform (Keras's default), he_uniform, he_normal, zeros.
Initializer read_kernel_initializer(KerasFields& f, const char* key);
// Writes them, with the regularizers and constraints null, as Keras 2 ends a Conv2D or Dense config.
void write_weighted_fields(const LayerSpec& l, nlohmann::ordered_json& c);
// " relu glorot_uniform", " linear no bias he_normal".
void describe_weighted(const LayerSpec& l, std::ostream& out);
// The kernel of `kernel` shape, then the bias (units) if the layer has one.
std::vector<WeightSpec> kernel_and_bias(const LayerSpec& l, Shape kernel);
// The activation the kernels apply: a final softmax is left to the loss (trained as logits).
inline Activation kernel_activation(const LayerSpec& l) {
  return l.activation == Activation::softmax ? Activation::linear : l.activation;
}
// Adds the bias initializer "<layer>/bias" to `inputs` when the layer has a bias.
void add_onnx_bias(OnnxGraph& graph, const PlannedLayer& layer, std::vector<std::string>& inputs);

}  // namespace fmnist
