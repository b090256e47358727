// Keras's activation functions for every layer that takes one by name (Conv2D, Dense, Activation
// and the other convolutions; docs/models.md: Activations): read from Keras JSON, written back,
// described, exported to ONNX, and run: relu fused into the layer's own kernel, a final softmax
// left to the loss, every other one by the Elementwise kernel after the layer (Activated).
#pragma once

#include <memory>
#include <string>

#include "../registry.hpp"
#include "fmnist/onnx_graph.hpp"

namespace fmnist {

// Reads the field "activation" into l.activation, l.gelu_approximate and l.hard_sigmoid_keras3:
// a name ("silu" is swish), Keras 3's serialized function {"module": "keras.activations",
// "class_name": "function", "config": "gelu", "registered_name": "gelu"}, or an object whose
// config is {"name": "gelu", "approximate": true}. hard_sigmoid follows the JSON's form (Keras 3:
// relu6(x + 3) / 6). Absent: linear, or refused when `required`. Anything else is refused, naming
// the field, the value and the names there are.
void read_activation(KerasFields& f, LayerSpec& l, bool required);

// The activation as written back: its name, as Keras 2 writes it; Keras 3's function object for
// its hard_sigmoid; {"class_name": "function", "config": {"name": "gelu", "approximate": true}}
// for the tanh gelu, which no Keras name says.
nlohmann::ordered_json activation_json(const LayerSpec& l);

// "gelu", "gelu (tanh)", "hard_sigmoid (Keras 3)": the activation in describe texts.
std::string activation_text(const LayerSpec& l);

// Adds the activation's ONNX nodes on the current tensor (relu and softmax through
// OnnxGraph::activation; gelu composed from Erf or Tanh, which opset 13 has, Gelu it has not).
void add_onnx_activation(OnnxGraph& g, const LayerSpec& l);

// Whether the activation runs after the layer's kernel: not linear, relu (fused) or softmax (the loss's).
bool runs_after_kernel(const LayerSpec& l);

// The elementwise function of an activation that runs after the kernel.
ElementwiseFn elementwise_fn(const LayerSpec& l);

// The layer a factory built, followed by its activation when the kernel does not compute it.
template <typename T>
BuiltLayer<T> with_activation(BuiltLayer<T> built, const LayerBuild<T>& b) {
  const LayerSpec& l = b.layer.spec();
  if (!runs_after_kernel(l) || built.owned == nullptr || built.fuses_next) return built;
  const std::size_t size = shape_size(b.layer.plan().output_shape);
  return own<T>(std::make_unique<Activated<T>>(std::move(built.owned), elementwise_fn(l), size, b.max_batch));
}

}  // namespace fmnist
