// Activation (docs/models.md: Models): relu, linear, or softmax on the last layer (trained as
// logits, so it is the loss's). Only relu makes a layer object; after a BatchNormalization it is
// fused into it (batch_normalization.cpp). Its row of the layer registry; the kernel is src/nn/relu.cpp.
#include <ostream>

#include "../keras_fields.hpp"
#include "../registry.hpp"
#include "fmnist/onnx_graph.hpp"

namespace fmnist {
namespace {

void read(KerasFields& f, LayerSpec& l) {
  f.require("activation");
  l.activation = f.choice("activation", {Activation::relu, Activation::linear, Activation::softmax}, Activation::linear);
}

void write(const LayerSpec& l, const Shape*, nlohmann::ordered_json& c) { c["activation"] = keras_name(l.activation); }

Shape shape(const LayerCheck&, const LayerSpec&, std::span<const Shape> inputs) { return inputs[0]; }

void describe(const LayerSpec& l, std::ostream& out) { out << " " << keras_name(l.activation); }

void onnx(OnnxGraph& g, const PlannedLayer& layer) { g.activation(layer.spec().activation); }

// A Relu; linear and the final softmax are views.
template <typename T>
BuiltLayer<T> make(const LayerBuild<T>& b) {
  if (b.layer.spec().activation != Activation::relu) return {};
  return own<T>(std::make_unique<Relu<T>>(shape_size(b.layer.plan().input_shape)));
}

}  // namespace

extern const LayerKindRow activation_row = {.kind = LayerKind::activation,
                                            .keras_class = "Activation",
                                            .base_name = "activation",
                                            .read = read,
                                            .write = write,
                                            .shape = shape,
                                            .describe = describe,
                                            .onnx = onnx,
                                            .make_float = make<float>,
                                            .make_double = make<double>,
                                            .pass_through = true};

}  // namespace fmnist
