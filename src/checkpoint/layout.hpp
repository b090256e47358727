// Private to the checkpoint module: the names of the HDF5 layout (docs/models.md: Checkpoints, resume and
// fmnist_inspect) shared by the writer and the reader, and how /training stores each field (the fields:
// visit_training_fields), so both sides cannot drift.
#pragma once

#include <cstdint>
#include <type_traits>
#include <utility>
#include <string>
#include <vector>

#include "fmnist/checkpoint.hpp"
#include "fmnist/model_spec.hpp"

namespace fmnist::layout {

inline constexpr const char* kModelWeights = "/model_weights";
inline constexpr const char* kOptimizer = "/optimizer";
inline constexpr const char* kTraining = "/training";
inline constexpr const char* kHistory = "/history";
inline constexpr const char* kEvaluation = "/evaluation";
inline constexpr const char* kBackend = "tensorflow";
inline constexpr const char* kKerasVersion = "2.15.0";
// Root attributes of a Keras model file (Keras's legacy load_model reads them).
inline constexpr const char* kModelConfig = "model_config";
inline constexpr const char* kTrainingConfig = "training_config";
// Root attributes of fmnist_dist's own: the release and the Git commit of the build that wrote the file.
inline constexpr const char* kWriterVersion = "fmnist_dist_version";
inline constexpr const char* kWriterCommit = "fmnist_dist_commit";

// "/model_weights/conv2d" for layer "conv2d".
inline std::string layer_path(const LayerSpec& l) { return std::string(kModelWeights) + "/" + l.name; }
// "/model_weights/conv2d/conv2d/kernel:0" for the tensor "conv2d/kernel:0" of layer "conv2d".
inline std::string weight_path(const ModelPlan& plan, const TensorSpec& t) {
  return layer_path(plan.spec.layers[t.layer]) + "/" + t.name;
}
// The names of a layer's weight tensors, in order ("conv2d/kernel:0", "conv2d/bias:0"; none for
// weightless layers): the attribute weight_names.
inline std::vector<std::string> weight_names(const ModelPlan& plan, std::size_t layer) {
  std::vector<std::string> names;
  for (std::size_t t : plan.layers[layer].tensors) names.push_back(plan.tensors[t].name);
  return names;
}

// "/history/loss": one dataset per column of the history's table (kHistoryColumns, history.hpp).
// lr: files written before it lack /history/lr; reading fills it with /training's lr.
inline std::string history_path(const char* key) { return std::string(kHistory) + "/" + key; }

// How a /training field is stored: choices as their text, int as int64 (the files' type since
// the first version), every other type as itself.
template <typename T>
auto stored_value(const T& value) {
  if constexpr (Choice<T>) {
    return to_text(value);
  } else if constexpr (std::is_same_v<T, int>) {
    return static_cast<std::int64_t>(value);
  } else {
    return value;
  }
}
template <typename T>
using StoredType = decltype(stored_value(std::declval<T>()));

}  // namespace fmnist::layout
