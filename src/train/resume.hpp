// Starting and resuming: the output folder, the checkpoint to resume from and its compatibility
// with this run (checked whole on rank 0 before anything is sent), the start-up broadcast of
// weights, optimizer state and progress, and the assembly of a Checkpoint from the live state.
#pragma once

#include <optional>
#include <string>

#include "fmnist/checkpoint.hpp"
#include "fmnist/comm.hpp"
#include "fmnist/config.hpp"
#include "fmnist/model.hpp"
#include "fmnist/optimizer.hpp"
#include "inputs.hpp"

namespace fmnist {

// Where a run starts, the same on every rank (history: rank 0's).
struct Start {
  bool resumed = false;
  TrainingState state;
  History history;
};

// Collective. Rank 0 creates --out-dir and, with --resume, reads the checkpoint and checks all of
// it against this run (model, settings, data, optimizer name, slot names, count and lengths);
// every rank agrees on the outcome (a problem: CollectiveError(Exit::checkpoint) naming the file
// and what differs, on every rank); only then are the weights, the optimizer state and the
// Ckpt::restore fields of /training sent to every rank. A fresh start sends rank 0's initial weights.
Start start_or_resume(const Config& config, const Comm& comm, const Inputs& inputs, Model<float>& model,
                      Optimizer& optimizer);

// Creates --out-dir and proves it writable; throws Error(Exit::checkpoint) naming the folder.
void prepare_out_dir(const std::string& dir);

// Rank 0: the checkpoint named by --resume (none for a fresh start), checked whole against this run
// and `expected` (this run's optimizer state, for its name and slots). Throws Error(Exit::checkpoint)
// when it is unreadable, corrupt, or was written by an incompatible run (says what differs).
std::optional<Checkpoint> load_resume_checkpoint(const Config& config, const Inputs& inputs, const ModelSpec& model,
                                                 const OptimizerState& expected);

// The training state of a fresh run with these options.
TrainingState initial_state(const Config& config, const Inputs& inputs, int world_size);

// training_config: Keras's (keras_training_config), stored as the root attribute.
Checkpoint make_checkpoint(const Model<float>& model, const std::string& training_config, const Optimizer& optimizer,
                           const TrainingState& state, const History& history,
                           const std::optional<Evaluation>& evaluation);

}  // namespace fmnist
