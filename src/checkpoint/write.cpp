// write_checkpoint: the layout of README's Checkpoints section built as an HDF5 image in memory, then written
// with write_file_atomically (temporary file, fsync, rename), so readers and a crash see the
// old file or the new one, never a mixture, and HDF5 itself never writes to the disk.
#include "fmnist/atomic_file.hpp"
#include "fmnist/error.hpp"
#include "hdf5.hpp"
#include "layout.hpp"

namespace fmnist {
namespace {

std::vector<hsize_t> dims_of(const std::vector<int>& shape) {
  return {shape.begin(), shape.end()};
}

void write_model_weights(hid_t file, const std::vector<float>& weights) {
  const h5::Group root = h5::create_group(file, layout::kModelWeights);
  std::vector<std::string> layer_names;
  for (const LayerSpec& l : layer_specs()) layer_names.push_back(l.name);
  h5::write_attribute(root.get(), "layer_names", layer_names);
  h5::write_attribute(root.get(), "backend", std::string(layout::kBackend));
  h5::write_attribute(root.get(), "keras_version", std::string(layout::kKerasVersion));
  for (const LayerSpec& l : layer_specs()) {
    const h5::Group layer = h5::create_group(root.get(), l.name);
    std::vector<std::string> weight_names;
    for (const TensorSpec& t : weight_tensors()) {
      if (t.layer == l.name) weight_names.push_back(t.name);
    }
    h5::write_attribute(layer.get(), "weight_names", weight_names);
    if (weight_names.empty()) continue;
    const std::string inner_name = weight_names[0].substr(0, weight_names[0].find('/'));
    const h5::Group inner = h5::create_group(layer.get(), inner_name);
    for (const TensorSpec& t : weight_tensors()) {
      if (t.layer != l.name) continue;
      h5::write_dataset(inner.get(), t.name.substr(t.name.find('/') + 1), dims_of(t.shape),
                        weights.data() + t.offset);
    }
  }
}

void write_optimizer(hid_t file, const OptimizerState& optimizer) {
  const h5::Group group = h5::create_group(file, layout::kOptimizer);
  h5::write_attribute(group.get(), "name", optimizer.name);
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
  layout::visit_training_fields(training, [&](const char* name, const auto& value) {
    h5::write_attribute(group.get(), name, value);
  });
}

void write_history(hid_t file, const History& history) {
  const h5::Group group = h5::create_group(file, layout::kHistory);
  const auto columns = layout::history_columns(history);
  for (std::size_t i = 0; i < columns.size(); ++i) {
    h5::write_dataset(group.get(), layout::kHistoryKeys[i], {columns[i]->size()}, columns[i]->data());
  }
}

void write_evaluation(hid_t file, const Evaluation& evaluation) {
  const h5::Group group = h5::create_group(file, layout::kEvaluation);
  h5::write_dataset(group.get(), "test_loss", {1}, &evaluation.test_loss);
  h5::write_dataset(group.get(), "test_accuracy", {1}, &evaluation.test_accuracy);
}

std::vector<char> build_image(const std::string& name, const Checkpoint& ckpt) {
  h5::MemoryFile file(name);
  write_model_weights(file.get(), ckpt.weights);
  write_optimizer(file.get(), ckpt.optimizer);
  write_training(file.get(), ckpt.training);
  write_history(file.get(), ckpt.history);
  if (ckpt.evaluation) write_evaluation(file.get(), *ckpt.evaluation);
  return file.finish();
}

// Programming errors (wrong sizes) are internal failures, not bad checkpoints.
void check_input(const Checkpoint& ckpt) {
  auto fail = [](const std::string& what) { throw Error(Exit::internal, "write_checkpoint: " + what); };
  if (ckpt.weights.size() != kNumParams) fail("weights must hold " + std::to_string(kNumParams) + " values");
  for (const OptimizerSlot& s : ckpt.optimizer.slots) {
    if (s.data.size() != kNumParams) fail("optimizer slot '" + s.name + "' has the wrong size");
    if (s.name.empty() || s.name.find('/') != std::string::npos || s.name == ".") {
      fail("bad optimizer slot name '" + s.name + "'");
    }
  }
  for (const auto* column : layout::history_columns(ckpt.history)) {
    if (column->size() != ckpt.history.epochs()) fail("history columns differ in length");
  }
}

}  // namespace

void write_checkpoint(const std::string& path, const Checkpoint& ckpt) {
  check_input(ckpt);
  const std::vector<char> image = build_image(path, ckpt);
  write_file_atomically(path, std::string_view(image.data(), image.size()));
}

}  // namespace fmnist
