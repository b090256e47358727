// The merge layers (docs/models.md: Functional models): Add, Subtract, Multiply, Average, Maximum,
// Minimum (element-wise, on inputs of one shape) and Concatenate (on the channels, the last axis),
// with Keras's shape checks; each takes two or more inputs (Subtract exactly two), so only a
// Functional model has them. Their rows of the layer registry; the kernels are src/nn/merge.cpp.
#include <stdexcept>
#include <utility>

#include "../keras_fields.hpp"
#include "../registry.hpp"
#include "fmnist/onnx_graph.hpp"
#include "fmnist/text.hpp"

namespace fmnist {
namespace {
namespace merge_kind {  // a name of its own: src/nn/kinds/*.cpp compile as one unit

// "(26, 26, 32), (24, 24, 32)": the shapes of a merge's inputs, for messages.
std::string shapes_text(std::span<const Shape> inputs) {
  std::string text;
  for (const Shape& s : inputs) text += (text.empty() ? "" : ", ") + shape_text(s);
  return text;
}

// Whether Keras would broadcast the two shapes (its _compute_elemwise_op_output_shape: trailing
// dimensions aligned, a 1 stretches to the other) rather than refuse them.
bool broadcastable(const Shape& a, const Shape& b) {
  const Shape& longer = a.size() >= b.size() ? a : b;
  const Shape& shorter = a.size() >= b.size() ? b : a;
  const std::size_t skip = longer.size() - shorter.size();
  for (std::size_t i = 0; i < shorter.size(); ++i) {
    const int p = longer[skip + i], q = shorter[i];
    if (p != q && p != 1 && q != 1) return false;
  }
  return true;
}

void read_none(KerasFields&, LayerSpec&) {}
void write_none(const LayerSpec&, const Shape*, nlohmann::ordered_json&) {}

// Keras's element-wise merges take inputs of one shape; Keras would broadcast some others, which
// is refused here too (so the message says which).
Shape elementwise_shape(const LayerCheck& check, const LayerSpec& l, std::span<const Shape> inputs) {
  if (l.kind == LayerKind::subtract && inputs.size() != 2)
    check.fail("inbound_nodes", std::to_string(inputs.size()) + " inputs", "is not supported (Subtract takes exactly two)");
  for (const Shape& s : inputs.subspan(1)) {
    if (s == inputs[0]) continue;
    check.fail("inbound_nodes", shapes_text(inputs),
               broadcastable(inputs[0], s) ? "is not supported (Keras would broadcast them; only inputs of one shape here)"
                                           : "are incompatible shapes (an element-wise merge needs inputs of one shape)");
  }
  return inputs[0];
}

// The operator of a kind, for its kernel.
MergeOp merge_op(LayerKind kind) {
  constexpr std::pair<LayerKind, MergeOp> ops[] = {
      {LayerKind::add, MergeOp::add},         {LayerKind::subtract, MergeOp::subtract},
      {LayerKind::multiply, MergeOp::multiply}, {LayerKind::average, MergeOp::average},
      {LayerKind::maximum, MergeOp::maximum}, {LayerKind::minimum, MergeOp::minimum}};
  for (const auto& [k, op] : ops) {
    if (k == kind) return op;
  }
  throw std::logic_error(std::string("no element-wise merge for ") + keras_name(kind));
}

// ONNX: a variadic operator (Sum, Mean, Max, Min) where there is one, the binary one for two
// inputs (Add), else the binary one chained (Sub, Mul).
void elementwise_onnx(OnnxGraph& g, const PlannedLayer& layer) {
  const std::vector<std::string> x = g.inputs();
  const LayerKind kind = layer.spec().kind;
  if (kind == LayerKind::add && x.size() == 2) {
    g.node("Add", x);
  } else if (kind == LayerKind::subtract || kind == LayerKind::multiply) {
    const char* op = kind == LayerKind::subtract ? "Sub" : "Mul";
    std::string y = g.node(op, {x[0], x[1]});
    for (std::size_t k = 2; k < x.size(); ++k) y = g.node(op, {y, x[k]});
  } else {
    const char* op = kind == LayerKind::add ? "Sum" : kind == LayerKind::average ? "Mean" : kind == LayerKind::maximum ? "Max" : "Min";
    g.node(op, x);
  }
}

template <typename T>
BuiltLayer<T> make_elementwise(const LayerBuild<T>& b) {
  const LayerPlan& p = b.layer.plan();
  return own<T>(std::make_unique<ElementwiseMerge<T>>(merge_op(b.layer.spec().kind), shape_size(p.output_shape),
                                                      int(p.inputs.size())));
}

constexpr LayerKindRow elementwise(LayerKind kind, const char* keras_class, const char* base_name) {
  return {.kind = kind,
          .keras_class = keras_class,
          .base_name = base_name,
          .read = read_none,
          .write = write_none,
          .shape = elementwise_shape,
          .make_float = make_elementwise<float>,
          .make_double = make_elementwise<double>,
          .onnx = elementwise_onnx,
          .pass_through = true,
          .merge = true};
}

// Concatenate's axis: the last one, as -1 or as its index counting the batch dimension (3 for
// images, 1 after a Dense), checked against the inputs' rank by the shape rule.
void concatenate_read(KerasFields& f, LayerSpec& l) {
  const nlohmann::json* axis = f.find("axis");
  if (axis != nullptr) l.axis = f.integer_of("axis", *axis, -64, 64);
}

void concatenate_write(const LayerSpec&, const Shape*, nlohmann::ordered_json& c) { c["axis"] = -1; }

// Keras's check: inputs of one rank, equal but for the concatenation axis.
Shape concatenate_shape(const LayerCheck& check, const LayerSpec& l, std::span<const Shape> inputs) {
  const int rank = static_cast<int>(inputs[0].size());  // counting the batch dimension: the last axis' index
  if (l.axis != -1 && l.axis != rank)
    check.fail("axis", std::to_string(l.axis), "is not supported (only the last axis, the channels: -1 or " +
                                                   std::to_string(rank) + " for inputs of " + shape_text(inputs[0]) + ")");
  Shape out = inputs[0];
  out.back() = 0;
  for (const Shape& s : inputs) {
    if (s.size() != inputs[0].size() || !std::equal(s.begin(), s.end() - 1, inputs[0].begin()))
      check.fail("inbound_nodes", shapes_text(inputs), "do not match except on the concatenation axis (the last)");
    out.back() += s.back();
  }
  return out;
}

// Concat on the channels: axis 1 of NCHW images and of (N, C), 3 of NHWC images.
void concatenate_onnx(OnnxGraph& g, const PlannedLayer&) {
  const std::vector<std::string> x = g.inputs();
  g.node("Concat", x, {{"axis", std::int64_t{g.channel_axis()}}});
}

template <typename T>
BuiltLayer<T> make_concatenate(const LayerBuild<T>& b) {
  const LayerPlan& p = b.layer.plan();
  std::vector<std::size_t> widths;
  for (const Shape& s : p.input_shapes) widths.push_back(std::size_t(s.back()));
  return own<T>(std::make_unique<Concatenate<T>>(std::move(widths), shape_size(p.output_shape) / std::size_t(p.output_shape.back())));
}

// Keras 2's resolved axis and Keras 3's -1 are one spec once checked.
void concatenate_canonical(LayerSpec& l) { l.axis = -1; }

}  // namespace merge_kind
}  // namespace

extern const LayerKindRow add_row = merge_kind::elementwise(LayerKind::add, "Add", "add");
extern const LayerKindRow subtract_row = merge_kind::elementwise(LayerKind::subtract, "Subtract", "subtract");
extern const LayerKindRow multiply_row = merge_kind::elementwise(LayerKind::multiply, "Multiply", "multiply");
extern const LayerKindRow average_row = merge_kind::elementwise(LayerKind::average, "Average", "average");
extern const LayerKindRow maximum_row = merge_kind::elementwise(LayerKind::maximum, "Maximum", "maximum");
extern const LayerKindRow minimum_row = merge_kind::elementwise(LayerKind::minimum, "Minimum", "minimum");
extern const LayerKindRow concatenate_row = {.kind = LayerKind::concatenate,
                                             .keras_class = "Concatenate",
                                             .base_name = "concatenate",
                                             .read = merge_kind::concatenate_read,
                                             .write = merge_kind::concatenate_write,
                                             .shape = merge_kind::concatenate_shape,
                                             .make_float = merge_kind::make_concatenate<float>,
                                             .make_double = merge_kind::make_concatenate<double>,
                                             .onnx = merge_kind::concatenate_onnx,
                                             .canonical = merge_kind::concatenate_canonical,
                                             .merge = true};

}  // namespace fmnist
