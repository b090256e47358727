// The weighted layers' shared rules (Conv2D, Dense, DepthwiseConv2D, SeparableConv2D): activation,
// use_bias and the initializers in Keras JSON and in the describe text, their kernel and bias
// tensors, and the bias in ONNX.
#pragma once

#include <iosfwd>

#include "../registry.hpp"
#include "fmnist/onnx_graph.hpp"

namespace fmnist {

// Reads activation (any of Keras's: activations.hpp), use_bias, kernel_initializer and
// bias_initializer (every initializer with its arguments; a bias not orthogonal), kernel_regularizer
// and bias_regularizer.
void read_weighted_fields(KerasFields& f, LayerSpec& l);
// A kernel's initializer without arguments, field `key`: glorot_uniform (Keras's default), he_uniform,
// he_normal, zeros (the depthwise convolutions' kernels: kinds/depthwise.cpp).
Initializer read_kernel_initializer(KerasFields& f, const char* key);
// Writes them, with the activity regularizer and the constraints null, as Keras 2 ends a Conv2D or Dense config.
void write_weighted_fields(const LayerSpec& l, nlohmann::ordered_json& c);
// " relu glorot_uniform", " linear no bias he_normal", " gelu random_normal(mean 0, stddev 0.1) bias ones".
void describe_weighted(const LayerSpec& l, std::ostream& out);
// The kernel of `kernel` shape, then the bias (units) if the layer has one.
std::vector<WeightSpec> kernel_and_bias(const LayerSpec& l, Shape kernel);
// The activation the kernels apply: relu, or linear (a final softmax is left to the loss, trained
// as logits; the others run after the kernel: activations.hpp with_activation).
inline Activation kernel_activation(const LayerSpec& l) {
  return l.activation == Activation::relu ? Activation::relu : Activation::linear;
}
// Adds the bias initializer "<layer>/bias" to `inputs` when the layer has a bias.
void add_onnx_bias(OnnxGraph& graph, const PlannedLayer& layer, std::vector<std::string>& inputs);

}  // namespace fmnist
