// The only HDF5-facing interface: checkpoints in the layout of README's Checkpoints section
// (/model_weights in Keras's legacy layout, /optimizer, /training, /history, /evaluation),
// every dataset chunked with a Fletcher32 checksum that is verified on load.
// Errors throw Error(Exit::checkpoint, "<file>: <dataset or attribute>: <what>").
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fmnist/history.hpp"
#include "fmnist/model_spec.hpp"

namespace fmnist {

// Everything needed to continue a run exactly (attributes of /training).
struct TrainingState {
  std::int64_t epoch = 0;          // completed epochs
  std::int64_t step = 0;           // optimizer steps taken in total
  std::int64_t step_in_epoch = 0;  // steps taken inside the current (incomplete) epoch
  std::int64_t world_size = 1;     // ranks that wrote it (informational: any world size may resume)
  std::int64_t batch_size = 512;   // global batch
  std::int64_t epochs = 15;        // epochs the run was asked for
  std::uint64_t seed = 0;          // init and shuffling
  std::uint32_t split_seed = 42;
  double val_split = 0.3;
  std::string optimizer = "rmsprop";
  double lr = 0.001;
  std::string rmsprop_form = "keras2";    // where RMSprop's epsilon goes (README: Options)
  std::int64_t num_train = 0;             // size of the training split
  std::uint64_t data_fingerprint = 0;     // fingerprint() of the training split
  std::string isa = "unknown";            // the kernels' instruction set that wrote it (kernel_isa())
  // Running sums of the incomplete epoch, so the resumed epoch reports the same means.
  double epoch_loss_sum = 0;
  std::int64_t epoch_correct = 0;
  std::int64_t epoch_samples = 0;
  double epoch_seconds = 0;
  double best_val_loss = 0;  // lowest val_loss so far (meaningful when history is not empty)
};

struct OptimizerSlot {
  std::string name;         // "velocity", "momentum", ...
  std::vector<float> data;  // same layout as the weights
};

struct OptimizerState {
  std::string name;              // "rmsprop", "adam", "sgd"
  std::int64_t iterations = 0;   // steps taken
  std::vector<OptimizerSlot> slots;
};

struct Evaluation {
  double test_loss = 0;
  double test_accuracy = 0;
};

struct Checkpoint {
  ModelSpec model;              // the root attribute model_config (Keras JSON)
  std::string training_config;  // the root attribute training_config (Keras JSON), if any
  std::vector<float> weights;   // (num_params) in the arena order of plan_model(model).tensors
  OptimizerState optimizer;
  TrainingState training;
  History history;
  std::optional<Evaluation> evaluation;  // present once training has finished
};

// Writes `path` atomically: a temporary file beside it, flushed and fsynced, then renamed.
void write_checkpoint(const std::string& path, const Checkpoint& ckpt);

// Reads and verifies (checksums, shapes, finiteness of the weights) a checkpoint. The model comes
// from model_config; a checkpoint without it (written before models were data) holds the
// tutorial's model (README: Checkpoints, resume and fmnist_inspect).
Checkpoint read_checkpoint(const std::string& path);

// Checks every dataset's checksum, shape and finiteness; returns the problems found (empty: good),
// each "<file>: <dataset or attribute>: <what>". datasets_checked (optional) receives the number
// of datasets examined.
std::vector<std::string> verify_checkpoint(const std::string& path, std::size_t* datasets_checked = nullptr);

}  // namespace fmnist
