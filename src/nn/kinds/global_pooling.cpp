// GlobalAveragePooling2D and GlobalMaxPooling2D (docs/models.md: Models): each channel's mean or
// max over the image, (h, w, c) -> (c), or (1, 1, c) with keepdims (Keras 2.6+ and 3; data_format
// channels_last only). Their rows of the layer registry; the kernel is src/nn/global_pool2d.cpp. In
// ONNX a GlobalAveragePool or GlobalMaxPool on the NCHW image, then a Flatten without keepdims.
#include <ostream>

#include "../keras_fields.hpp"
#include "../registry.hpp"
#include "fmnist/onnx_graph.hpp"
#include "fmnist/text.hpp"

namespace fmnist {
namespace {
namespace global_pooling_kind {  // a name of its own: src/nn/kinds/*.cpp compile as one unit

void read(KerasFields& f, LayerSpec& l) {
  f.only("data_format", {"channels_last"}, "only channels_last");
  l.keepdims = f.boolean("keepdims", false);
}

void write(const LayerSpec& l, const Shape*, nlohmann::ordered_json& c) {
  c["data_format"] = "channels_last";
  c["keepdims"] = l.keepdims;
}

Shape shape(const LayerCheck& check, const LayerSpec& l, std::span<const Shape> inputs) {
  const Shape& in = inputs[0];
  if (in.size() != 3)
    check.fail("data_format", "\"channels_last\"",
               "needs an input of (height, width, channels), but the input is " + shape_text(in));
  return l.keepdims ? Shape{1, 1, in[2]} : Shape{in[2]};
}

void describe(const LayerSpec& l, std::ostream& out) {
  if (l.keepdims) out << " keepdims";
}

// (N, C, 1, 1) in NCHW; without keepdims back to the plan's layout (a Transpose, which moves
// nothing here) and flat (N, C).
void add_onnx(OnnxGraph& g, const PlannedLayer& layer, const char* op) {
  g.node(op, {g.input_nchw()});
  if (!layer.spec().keepdims) g.node("Flatten", {g.input_nhwc()}, {{"axis", std::int64_t{1}}});
}

void average_onnx(OnnxGraph& g, const PlannedLayer& layer) { add_onnx(g, layer, "GlobalAveragePool"); }
void max_onnx(OnnxGraph& g, const PlannedLayer& layer) { add_onnx(g, layer, "GlobalMaxPool"); }

template <typename T, bool kMax>
BuiltLayer<T> make(const LayerBuild<T>& b) {
  const Shape& in = b.layer.plan().input_shape;
  return own<T>(std::make_unique<GlobalPool2D<T>>(in[0], in[1], in[2], kMax, b.max_batch));
}

}  // namespace global_pooling_kind
}  // namespace

extern const LayerKindRow global_average_pooling2d_row = {.kind = LayerKind::global_average_pooling2d,
                                                          .keras_class = "GlobalAveragePooling2D",
                                                          .base_name = "global_average_pooling2d",
                                                          .read = global_pooling_kind::read,
                                                          .write = global_pooling_kind::write,
                                                          .shape = global_pooling_kind::shape,
                                                          .make_float = global_pooling_kind::make<float, false>,
                                                          .make_double = global_pooling_kind::make<double, false>,
                                                          .describe = global_pooling_kind::describe,
                                                          .onnx = global_pooling_kind::average_onnx};

extern const LayerKindRow global_max_pooling2d_row = {.kind = LayerKind::global_max_pooling2d,
                                                      .keras_class = "GlobalMaxPooling2D",
                                                      .base_name = "global_max_pooling2d",
                                                      .read = global_pooling_kind::read,
                                                      .write = global_pooling_kind::write,
                                                      .shape = global_pooling_kind::shape,
                                                      .make_float = global_pooling_kind::make<float, true>,
                                                      .make_double = global_pooling_kind::make<double, true>,
                                                      .describe = global_pooling_kind::describe,
                                                      .onnx = global_pooling_kind::max_onnx};

}  // namespace fmnist
