// The layer registry (docs/contributing.md: Adding a layer kind): one row per LayerKind with all
// there is to know about the kind (Keras's names, JSON fields, shape rule, weights, describe text,
// ONNX nodes, the factory of its forward/backward object), defined in its file under src/nn/kinds/.
// The planner, the JSON reader and writer, the model and the ONNX export ask the row, nothing else.
#pragma once

#include <cstddef>
#include <iosfwd>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "fmnist/layers.hpp"
#include "fmnist/model_spec.hpp"

namespace fmnist {

class KerasFields;  // keras_fields.hpp: one layer's Keras JSON config, read with checks
class OnnxGraph;    // fmnist/onnx_graph.hpp

using Shape = std::vector<int>;  // without the batch dimension: (h, w, c) or (n)

// The number of values of a shape: per image.
inline std::size_t shape_size(const Shape& shape) {
  std::size_t n = 1;
  for (int d : shape) n *= static_cast<std::size_t>(d);
  return n;
}

// A layer of a planned model, as the rules of its kind see it.
struct PlannedLayer {
  const ModelPlan& model;
  std::size_t index;  // into model.spec.layers and model.layers
  const LayerSpec& spec() const { return model.spec.layers[index]; }
  const LayerPlan& plan() const { return model.layers[index]; }
  // The layer's k-th weight tensor (in the order of its kind's weight rule).
  const TensorSpec& tensor(std::size_t k) const { return model.tensors[plan().tensors[k]]; }
};

// The refusals of a shape rule: each names the model, the layer and the field, as
// "<source>: layer 3 'conv2d_1' (Conv2D): field 'kernel_size': [7, 7] is larger than ...".
class LayerCheck {
 public:
  explicit LayerCheck(std::string where) : where_(std::move(where)) {}
  [[noreturn]] void fail(const std::string& field, const std::string& value, const std::string& what) const;
  // Refuses a value outside [1, limit].
  void count(const std::string& field, int value, int limit) const;

 private:
  std::string where_;
};

// One weight tensor of a layer, in Keras's order: the planner names it "<layer>/<what>:0" and
// places it in the arenas.
struct WeightSpec {
  const char* what;  // "kernel", "bias", "gamma", ...
  Shape shape;
  Initializer initializer;
  bool trainable = true;  // false: the gradient is always 0 (BatchNormalization's moving statistics)
  InitializerArgs initializer_args{};  // the initializer's arguments (random_normal's mean, ...)
  // The layer's field whose regularizer this weight carries ("kernel_regularizer"; null: none can).
  const char* regularizer = nullptr;
};

// What a layer factory gets: the planned layer, its place among the model's layers and the arenas.
template <typename T>
struct LayerBuild {
  PlannedLayer layer;
  int max_batch;
  bool need_dx;                       // false for the first layer that computes: dL/dx is never asked
  T* params;                          // (num_params): the parameter arena
  T* grads;                           // (num_params): the gradient arena
  std::unique_ptr<Layer<T>>& shared;  // the one object of this layer for every lane, for a kind whose
                                      // layer keeps no per-call state (BatchNormalization); else unused
  // The k-th weight tensor of the layer in the arenas; null when the layer has no such tensor.
  T* param(std::size_t k) const { return k < layer.plan().tensors.size() ? params + layer.tensor(k).offset : nullptr; }
  T* grad(std::size_t k) const { return k < layer.plan().tensors.size() ? grads + layer.tensor(k).offset : nullptr; }
  // The layer after this one when it is the only one that takes this one's output and takes
  // nothing else (always so in a Sequential model), or null: a kind may compute it too (fusion;
  // BuiltLayer::fuses_next).
  const LayerSpec* next() const {
    const std::size_t i = layer.index;
    const std::vector<LayerPlan>& layers = layer.model.layers;
    if (i + 1 >= layers.size() || layers[i].consumers != std::vector<std::size_t>{i + 1} || layers[i + 1].inputs.size() != 1)
      return nullptr;
    return &layer.model.spec.layers[i + 1];
  }
};

// What a layer factory returns.
template <typename T>
struct BuiltLayer {
  std::unique_ptr<Layer<T>> owned;  // the lane's own object (null if shared or none)
  Layer<T>* layer = nullptr;        // null: no object, the layer's output is its input (a view)
  BatchNorm<T>* norm = nullptr;     // set for a BatchNormalization: the model gathers its batch statistics
  bool fuses_next = false;          // the object computes the next layer as well
};

// A lane's own object for a layer, which may compute the next layer too.
template <typename T>
BuiltLayer<T> own(std::unique_ptr<Layer<T>> layer, bool fuses_next = false) {
  Layer<T>* p = layer.get();
  return {std::move(layer), p, nullptr, fuses_next};
}

template <typename T>
using MakeLayer = BuiltLayer<T> (*)(const LayerBuild<T>& build);

// A row's five functions every kind has, under the names its file gives them in its namespace `ns`:
// read, write, shape, make<float>, make<double>, each after `prefix` (empty, or e.g. relu_ in a file
// of several kinds):
//   {.kind = ..., .keras_class = ..., .base_name = ..., FMNIST_KIND_FUNCTIONS(dense_kind, ),
//    .weights = dense_kind::weights, ...}
// The files of src/nn/kinds/ are compiled as one unit (CMakeLists.txt: their shared headers are
// parsed once), so each keeps its helpers in a namespace named after it: <file>_kind.
#define FMNIST_KIND_FUNCTIONS(ns, prefix)                                           \
  .read = ns::prefix##read, .write = ns::prefix##write, .shape = ns::prefix##shape, \
  .make_float = ns::prefix##make<float>, .make_double = ns::prefix##make<double>

// One layer kind. Rows are written with designated initializers; the fields with a default may be left out.
struct LayerKindRow {
  LayerKind kind;
  const char* keras_class;  // "Conv2D"
  const char* base_name;    // "conv2d": Keras's automatic layer names conv2d, conv2d_1, ...
  // Reads the kind's fields from a Keras config (name, trainable and dtype are read already),
  // with Keras's defaults; every refusal names the field and the value.
  void (*read)(KerasFields& fields, LayerSpec& layer);
  // Writes them as Keras 2 does, after name, trainable and dtype. input: the layer's input shape
  // when the row says write_needs_input, else null.
  void (*write)(const LayerSpec& layer, const Shape* input, nlohmann::ordered_json& config);
  // The output shape for the input shapes (a Sequential layer has one); refuses what does not fit.
  Shape (*shape)(const LayerCheck& check, const LayerSpec& layer, std::span<const Shape> inputs);
  // The forward/backward object, for float (training) and double (the gradient checks).
  MakeLayer<float> make_float;
  MakeLayer<double> make_double;
  // The weight tensors, in Keras's order (null: none).
  std::vector<WeightSpec> (*weights)(const LayerSpec& layer, std::span<const Shape> inputs) = nullptr;
  // The maths after the class name, for messages: " 32 3x3 stride 1x1 valid" (null: nothing).
  void (*describe)(const LayerSpec& layer, std::ostream& out) = nullptr;
  // Adds the layer's ONNX nodes (null: none, the identity at inference).
  void (*onnx)(OnnxGraph& graph, const PlannedLayer& layer) = nullptr;
  // The field that sets the layer's width ("filters", "units"), named when the width is wrong,
  // and the spec's member that holds it.
  const char* width_field = nullptr;
  int LayerSpec::*width_value = &LayerSpec::units;
  // Weightless and shape-keeping (Dropout, Activation): a message about the model's output
  // width names the layer before it.
  bool pass_through = false;
  // write needs the layer's input shape (the spec is planned first).
  bool write_needs_input = false;
  // After the checks, the spec's canonical form, whatever form the JSON had (null: as read).
  void (*canonical)(LayerSpec& layer) = nullptr;
  // A merge layer (Add, Concatenate, ...): takes two or more inputs, in a Functional model; every
  // other kind takes one.
  bool merge = false;
  // Computes something else in training than in inference (Dropout, BatchNormalization, the
  // augmentation layers): a Functional call's "training" argument would change it, so it is refused.
  bool training_differs = false;

  template <typename T>
  MakeLayer<T> make() const {
    if constexpr (std::is_same_v<T, float>) {
      return make_float;
    } else {
      return make_double;
    }
  }
};

// The row of `kind`. Throws std::logic_error if the table is not in LayerKind's order (a bug).
const LayerKindRow& kind_row(LayerKind kind);

}  // namespace fmnist
