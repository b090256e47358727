// The layer registry's table (registry.hpp): one row per LayerKind, in LayerKind's order, each
// defined in its kind's file under src/nn/kinds/. A new kind is one enumerator in model_spec.hpp,
// one line here, and its own file (docs/contributing.md: Adding a layer kind).
#include "registry.hpp"

#include <iterator>
#include <stdexcept>

#include "fmnist/error.hpp"
#include "fmnist/onnx_graph.hpp"

namespace fmnist {

extern const LayerKindRow conv2d_row, max_pooling2d_row, average_pooling2d_row, flatten_row, dense_row, dropout_row,
    activation_row, batch_normalization_row, random_flip_row, random_translation_row, random_rotation_row, random_zoom_row;
extern const LayerKindRow re_lu_row, leaky_re_lu_row, elu_row, softmax_row,  // activation layers
    global_average_pooling2d_row, global_max_pooling2d_row, zero_padding2d_row;
extern const LayerKindRow add_row, subtract_row, multiply_row, average_row, maximum_row, minimum_row, concatenate_row;
extern const LayerKindRow depthwise_conv2d_row, separable_conv2d_row;  // kinds/depthwise.cpp

namespace {

constexpr const LayerKindRow* kRegistry[] = {
    &conv2d_row,       &max_pooling2d_row,      &average_pooling2d_row, &flatten_row,
    &dense_row,        &dropout_row,            &activation_row,        &batch_normalization_row,
    &random_flip_row,  &random_translation_row, &random_rotation_row,   &random_zoom_row,
    &re_lu_row, &leaky_re_lu_row, &elu_row, &softmax_row,  // activation layers
    &global_average_pooling2d_row, &global_max_pooling2d_row, &zero_padding2d_row,
    &add_row,          &subtract_row,           &multiply_row,          &average_row,
    &maximum_row,      &minimum_row,            &concatenate_row,
    &depthwise_conv2d_row, &separable_conv2d_row,
};
static_assert(std::size(kRegistry) == kLayerKindCount, "one row per LayerKind");

}  // namespace

const LayerKindRow& kind_row(LayerKind kind) {
  const auto i = static_cast<std::size_t>(kind);
  if (i >= std::size(kRegistry) || kRegistry[i]->kind != kind)
    throw std::logic_error("the layer registry has no row for LayerKind " + std::to_string(i) + " at its place");
  return *kRegistry[i];
}

const char* keras_name(LayerKind kind) {
  const auto i = static_cast<std::size_t>(kind);
  return i < std::size(kRegistry) ? kind_row(kind).keras_class : "?";
}

void LayerCheck::fail(const std::string& field, const std::string& value, const std::string& what) const {
  throw Error(Exit::usage, where_ + ": field '" + field + "': " + value + " " + what);
}

void LayerCheck::count(const std::string& field, int value, int limit) const {
  if (value < 1 || value > limit)
    fail(field, std::to_string(value), "is out of range (1 to " + std::to_string(limit) + ")");
}

void add_onnx_nodes(OnnxGraph& graph, const ModelPlan& plan, std::size_t layer) {
  const LayerKindRow& row = kind_row(plan.spec.layers[layer].kind);
  if (row.onnx != nullptr) row.onnx(graph, PlannedLayer{plan, layer});
}

}  // namespace fmnist
