// Activation (docs/models.md: Models, Activations): any of Keras's activation functions by name,
// softmax on the last layer only (trained as logits, so it is the loss's). relu makes a Relu (after
// a BatchNormalization it is fused into it: batch_normalization.cpp), linear and softmax no layer
// object, every other function an Elementwise. Its row of the layer registry; the kernels are
// src/nn/relu.cpp and src/nn/elementwise.cpp.
#include <ostream>

#include "../keras_fields.hpp"
#include "activations.hpp"

namespace fmnist {
namespace {
namespace activation_kind {  // a name of its own: src/nn/kinds/*.cpp compile as one unit

void read(KerasFields& f, LayerSpec& l) { read_activation(f, l, true); }

void write(const LayerSpec& l, const Shape*, nlohmann::ordered_json& c) { c["activation"] = activation_json(l); }

Shape shape(const LayerCheck&, const LayerSpec&, std::span<const Shape> inputs) { return inputs[0]; }

void describe(const LayerSpec& l, std::ostream& out) { out << " " << activation_text(l); }

void onnx(OnnxGraph& g, const PlannedLayer& layer) { add_onnx_activation(g, layer.spec()); }

// A Relu, an Elementwise, or for linear and the final softmax a view.
template <typename T>
BuiltLayer<T> make(const LayerBuild<T>& b) {
  const LayerSpec& l = b.layer.spec();
  const std::size_t size = shape_size(b.layer.plan().input_shape);
  if (l.activation == Activation::relu) return own<T>(std::make_unique<Relu<T>>(size));
  if (!runs_after_kernel(l)) return {};
  return own<T>(std::make_unique<Elementwise<T>>(elementwise_fn(l), size));
}

}  // namespace activation_kind
}  // namespace

extern const LayerKindRow activation_row = {.kind = LayerKind::activation,
                                            .keras_class = "Activation",
                                            .base_name = "activation",
                                            FMNIST_KIND_FUNCTIONS(activation_kind, ),
                                            .describe = activation_kind::describe,
                                            .onnx = activation_kind::onnx,
                                            .pass_through = true};

}  // namespace fmnist
