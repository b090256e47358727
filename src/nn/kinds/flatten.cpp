// Flatten (docs/models.md: Models): the row-major reshape of an (h, w, c) image, which is Keras's
// flat order, so no layer object at all: the model hands on the buffer. Its row of the layer
// registry; in ONNX the NCHW image is transposed back to NHWC first.
#include "../keras_fields.hpp"
#include "../registry.hpp"
#include "fmnist/onnx_graph.hpp"

namespace fmnist {
namespace {
namespace flatten_kind {  // a name of its own: src/nn/kinds/*.cpp compile as one unit

void read(KerasFields& f, LayerSpec&) { f.only("data_format", {"channels_last"}, "only channels_last"); }

void write(const LayerSpec&, const Shape*, nlohmann::ordered_json& c) { c["data_format"] = "channels_last"; }

Shape shape(const LayerCheck&, const LayerSpec&, std::span<const Shape> inputs) {
  return {static_cast<int>(shape_size(inputs[0]))};
}

void onnx(OnnxGraph& g, const PlannedLayer&) { g.node("Flatten", {g.input_nhwc()}, {{"axis", std::int64_t{1}}}); }

template <typename T>
BuiltLayer<T> make(const LayerBuild<T>&) {
  return {};  // a view: NHWC row-major already is Keras's flat order
}

}  // namespace flatten_kind
}  // namespace

extern const LayerKindRow flatten_row = {.kind = LayerKind::flatten,
                                         .keras_class = "Flatten",
                                         .base_name = "flatten",
                                         FMNIST_KIND_FUNCTIONS(flatten_kind, ),
                                         .onnx = flatten_kind::onnx};

}  // namespace fmnist

