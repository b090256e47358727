// write_checkpoint: the layout of docs/models.md's Checkpoints section built as an HDF5 image in memory, then written
// with write_file_atomically (temporary file, fsync, rename), so readers and a crash see the
// old file or the new one, never a mixture, and HDF5 itself never writes to the disk.
#include "fmnist/atomic_file.hpp"
#include "fmnist/error.hpp"
#include "fmnist/version.hpp"
#include "hdf5.hpp"
#include "layout.hpp"

namespace fmnist {
namespace {

std::vector<hsize_t> dims_of(const std::vector<int>& shape) {
  return {shape.begin(), shape.end()};
}

// The root attributes of a Keras model file and the writer's version and commit, then /model_weights in Keras's legacy layout: the
// attribute layer_names (Keras's model.layers: a Functional model's InputLayer first), one group
// per layer (weightless ones included) with weight_names, and the datasets under
// /model_weights/<layer>/<layer>/<kernel:0|bias:0>.
void write_model(hid_t file, const Checkpoint& ckpt, const ModelPlan& plan) {
  h5::write_attribute(file, layout::kModelConfig, to_keras_json(ckpt.model));
  if (!ckpt.training_config.empty()) h5::write_attribute(file, layout::kTrainingConfig, ckpt.training_config);
  h5::write_attribute(file, "keras_version", std::string(layout::kKerasVersion));
  h5::write_attribute(file, "backend", std::string(layout::kBackend));
  h5::write_attribute(file, layout::kWriterVersion, std::string(version()));
  h5::write_attribute(file, layout::kWriterCommit, std::string(git_commit()));
  const h5::Group root = h5::create_group(file, layout::kModelWeights);
  h5::write_attribute(root.get(), "layer_names", keras_layer_names(plan.spec));
  h5::write_attribute(root.get(), "backend", std::string(layout::kBackend));
  h5::write_attribute(root.get(), "keras_version", std::string(layout::kKerasVersion));
  if (plan.spec.functional) {  // the InputLayer: a group without weights
    const h5::Group input = h5::create_group(root.get(), plan.spec.input_name);
    h5::write_attribute(input.get(), "weight_names", std::vector<std::string>{});
  }
  for (std::size_t i = 0; i < plan.layers.size(); ++i) {
    const std::string& name = plan.spec.layers[i].name;
    const h5::Group layer = h5::create_group(root.get(), name);
    h5::write_attribute(layer.get(), "weight_names", layout::weight_names(plan, i));
    if (plan.layers[i].tensors.empty()) continue;
    const h5::Group inner = h5::create_group(layer.get(), name);
    for (std::size_t k : plan.layers[i].tensors) {
      const TensorSpec& t = plan.tensors[k];
      h5::write_dataset(inner.get(), t.name.substr(t.name.find('/') + 1), dims_of(t.shape), ckpt.weights.data() + t.offset);
    }
  }
}

void write_optimizer(hid_t file, const OptimizerState& optimizer) {
  const h5::Group group = h5::create_group(file, layout::kOptimizer);
  h5::write_attribute(group.get(), "name", to_text(optimizer.kind));
  h5::write_attribute(group.get(), "iterations", optimizer.iterations);
  std::vector<std::string> slot_names;
  for (const OptimizerSlot& s : optimizer.slots) slot_names.push_back(s.name);
  h5::write_attribute(group.get(), "slots", slot_names);
  for (const OptimizerSlot& s : optimizer.slots) {
    h5::write_dataset(group.get(), s.name, {s.data.size()}, s.data.data());
  }
}

void write_training(hid_t file, const TrainingState& training) {
  const h5::Group group = h5::create_group(file, layout::kTraining);
  visit_training_fields(training, [&](const SettingInfo& info, const auto& value) {
    h5::write_attribute(group.get(), info.key, layout::stored_value(value));
  });
}

void write_history(hid_t file, const History& history) {
  const h5::Group group = h5::create_group(file, layout::kHistory);
  for (const HistoryColumn& column : kHistoryColumns) {
    const std::vector<double>& values = history.*column.values;
    h5::write_dataset(group.get(), column.key, {values.size()}, values.data());
  }
}

void write_evaluation(hid_t file, const Evaluation& evaluation) {
  const h5::Group group = h5::create_group(file, layout::kEvaluation);
  h5::write_dataset(group.get(), "test_loss", {1}, &evaluation.test_loss);
  h5::write_dataset(group.get(), "test_accuracy", {1}, &evaluation.test_accuracy);
}

std::vector<char> build_image(const std::string& name, const Checkpoint& ckpt, const ModelPlan& plan) {
  h5::MemoryFile file(name);
  write_model(file.get(), ckpt, plan);
  write_optimizer(file.get(), ckpt.optimizer);
  write_training(file.get(), ckpt.training);
  write_history(file.get(), ckpt.history);
  if (ckpt.evaluation) write_evaluation(file.get(), *ckpt.evaluation);
  return file.finish();
}

// Programming errors (wrong sizes) are internal failures, not bad checkpoints.
void check_input(const Checkpoint& ckpt, const ModelPlan& plan) {
  auto fail = [](const std::string& what) { throw Error(Exit::internal, "write_checkpoint: " + what); };
  if (ckpt.weights.size() != plan.num_params) fail("weights must hold " + std::to_string(plan.num_params) + " values");
  for (const OptimizerSlot& s : ckpt.optimizer.slots) {
    if (s.data.size() != plan.num_params) fail("optimizer slot '" + s.name + "' has the wrong size");
    if (s.name.empty() || s.name.find('/') != std::string::npos || s.name == ".") {
      fail("bad optimizer slot name '" + s.name + "'");
    }
  }
  for (const HistoryColumn& column : kHistoryColumns) {
    if ((ckpt.history.*column.values).size() != ckpt.history.epochs()) fail("history columns differ in length");
  }
}

}  // namespace

void write_checkpoint(const std::string& path, const Checkpoint& ckpt) {
  ModelPlan plan;
  try {
    plan = plan_model(ckpt.model);
  } catch (const Error& e) {
    throw Error(Exit::internal, std::string("write_checkpoint: ") + e.what());
  }
  check_input(ckpt, plan);
  const std::vector<char> image = build_image(path, ckpt, plan);
  write_file_atomically(path, std::string_view(image.data(), image.size()));
}

}  // namespace fmnist
