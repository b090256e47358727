// Starting and resuming on rank 0: the output folder, the checkpoint to resume from and its
// compatibility with this run, and the assembly of a Checkpoint from the live state.
#pragma once

#include <optional>
#include <string>

#include "fmnist/checkpoint.hpp"
#include "fmnist/config.hpp"
#include "fmnist/model.hpp"
#include "fmnist/optimizer.hpp"
#include "inputs.hpp"

namespace fmnist {

// Creates --out-dir and proves it writable; throws Error(Exit::checkpoint) naming the folder.
void prepare_out_dir(const std::string& dir);

// The checkpoint named by --resume (none for a fresh start). Throws Error(Exit::checkpoint)
// when it is unreadable, corrupt, or was written by an incompatible run (says what differs:
// an option, the data, or the first layer of another architecture than `model`).
std::optional<Checkpoint> load_resume_checkpoint(const Config& config, const Inputs& inputs, const ModelSpec& model);

// The training state of a fresh run with these options.
TrainingState initial_state(const Config& config, const Inputs& inputs, int world_size);

// training_config: Keras's (keras_training_config), stored as the root attribute.
Checkpoint make_checkpoint(const Model<float>& model, const std::string& training_config, const Optimizer& optimizer,
                           const TrainingState& state, const History& history,
                           const std::optional<Evaluation>& evaluation);

}  // namespace fmnist
