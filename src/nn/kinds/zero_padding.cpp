// ZeroPadding2D (docs/models.md: Models): zeros around each image, padding an integer n (n on
// every side), a pair (height, width), or ((top, bottom), (left, right)) as Keras's
// reshaping/zero_padding2d.py reads it (each entry >= 0); data_format channels_last only. Its row
// of the layer registry; the kernel is src/nn/zero_pad2d.cpp; in ONNX a Pad on the NCHW image.
#include <ostream>

#include "../keras_fields.hpp"
#include "../registry.hpp"
#include "fmnist/onnx_graph.hpp"
#include "fmnist/text.hpp"

namespace fmnist {
namespace {
namespace zero_padding_kind {  // a name of its own: src/nn/kinds/*.cpp compile as one unit

// l.pads (top, bottom, left, right) from Keras's three forms; the default is 1 everywhere.
void read(KerasFields& f, LayerSpec& l) {
  f.only("data_format", {"channels_last"}, "only channels_last");
  const nlohmann::json* v = f.find("padding");
  l.pads = {1, 1, 1, 1};
  if (v == nullptr) return;
  const std::string form = "is not an integer, a pair (height, width) or a pair of pairs ((top, bottom), (left, right))";
  auto amount = [&](const nlohmann::json& n) { return f.integer_of("padding", n, 0, kMaxWindow); };
  if (v->is_number_integer()) {
    const int n = amount(*v);
    l.pads = {n, n, n, n};
    return;
  }
  if (!v->is_array() || v->size() != 2) f.fail("padding", value_text(*v), form);
  for (std::size_t axis = 0; axis < 2; ++axis) {
    const nlohmann::json& side = (*v)[axis];
    if (side.is_array() && side.size() == 2) {
      l.pads[2 * axis] = amount(side[0]);
      l.pads[2 * axis + 1] = amount(side[1]);
    } else if (side.is_number_integer()) {
      l.pads[2 * axis] = l.pads[2 * axis + 1] = amount(side);
    } else {
      f.fail("padding", value_text(*v), form);
    }
  }
}

void write(const LayerSpec& l, const Shape*, nlohmann::ordered_json& c) {
  c["padding"] = {{l.pads[0], l.pads[1]}, {l.pads[2], l.pads[3]}};
  c["data_format"] = "channels_last";
}

std::string padding_text(const LayerSpec& l) {
  return "[[" + std::to_string(l.pads[0]) + ", " + std::to_string(l.pads[1]) + "], [" + std::to_string(l.pads[2]) +
         ", " + std::to_string(l.pads[3]) + "]]";
}

Shape shape(const LayerCheck& check, const LayerSpec& l, std::span<const Shape> inputs) {
  const Shape& in = inputs[0];
  for (int p : l.pads) {
    if (p < 0 || p > kMaxWindow)
      check.fail("padding", padding_text(l), "is out of range (0 to " + std::to_string(kMaxWindow) + " on each side)");
  }
  if (in.size() != 3)
    check.fail("padding", padding_text(l), "needs an input of (height, width, channels), but the input is " + shape_text(in));
  return {l.pads[0] + in[0] + l.pads[1], l.pads[2] + in[1] + l.pads[3], in[2]};
}

void describe(const LayerSpec& l, std::ostream& out) { out << " " << padding_text(l); }

// ONNX's pads: the begins of (N, C, H, W), then their ends.
void onnx(OnnxGraph& g, const PlannedLayer& layer) {
  const auto& p = layer.spec().pads;
  const std::string x = g.input_nchw();
  g.node("Pad", {x, g.constant("pads", OnnxDims{0, 0, p[0], p[2], 0, 0, p[1], p[3]})});
}

template <typename T>
BuiltLayer<T> make(const LayerBuild<T>& b) {
  const Shape& in = b.layer.plan().input_shape;
  return own<T>(std::make_unique<ZeroPad2D<T>>(in[0], in[1], in[2], b.layer.spec().pads));
}

}  // namespace zero_padding_kind
}  // namespace

extern const LayerKindRow zero_padding2d_row = {.kind = LayerKind::zero_padding2d,
                                                .keras_class = "ZeroPadding2D",
                                                .base_name = "zero_padding2d",
                                                FMNIST_KIND_FUNCTIONS(zero_padding_kind, ),
                                                .describe = zero_padding_kind::describe,
                                                .onnx = zero_padding_kind::onnx};

}  // namespace fmnist
