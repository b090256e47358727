// Private to the checkpoint module: the names of the HDF5 layout (README: Checkpoints, resume and fmnist_inspect) shared by the
// writer and the reader, and the one list of /training attributes, so both sides cannot drift.
#pragma once

#include <array>
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

inline std::string history_path(const char* key) { return std::string(kHistory) + "/" + key; }
inline constexpr const char* kHistoryKeys[] = {"loss", "accuracy", "val_loss", "val_accuracy", "seconds"};

// The History vectors in kHistoryKeys order (History or const History).
template <typename H>
auto history_columns(H& h) {
  return std::array{&h.loss, &h.accuracy, &h.val_loss, &h.val_accuracy, &h.seconds};
}

// Calls visit(name, field) for every attribute of /training, in file order.
template <typename State, typename Visit>
void visit_training_fields(State& t, Visit&& visit) {
  visit("epoch", t.epoch);
  visit("step", t.step);
  visit("step_in_epoch", t.step_in_epoch);
  visit("world_size", t.world_size);
  visit("batch_size", t.batch_size);
  visit("epochs", t.epochs);
  visit("seed", t.seed);
  visit("split_seed", t.split_seed);
  visit("val_split", t.val_split);
  visit("optimizer", t.optimizer);
  visit("lr", t.lr);
  visit("rmsprop_form", t.rmsprop_form);
  visit("num_train", t.num_train);
  visit("data_fingerprint", t.data_fingerprint);
  visit("isa", t.isa);
  visit("epoch_loss_sum", t.epoch_loss_sum);
  visit("epoch_correct", t.epoch_correct);
  visit("epoch_samples", t.epoch_samples);
  visit("epoch_seconds", t.epoch_seconds);
  visit("best_val_loss", t.best_val_loss);
}

// For /training attributes added after the first checkpoints were written: the value those older
// files imply (before rmsprop_form was recorded, RMSprop's default was the Keras 3 form);
// null for every other attribute, which must be present.
inline const char* implied_training_value(const std::string& name) {
  return name == "rmsprop_form" ? "keras3" : name == "isa" ? "unknown" : nullptr;
}

}  // namespace fmnist::layout
