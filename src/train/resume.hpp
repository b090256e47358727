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

// Collective. Rank 0 creates --out-dir and locks it (held until the process ends; another run
// holding it: exit 2 naming it), and, with --resume, reads the checkpoint and checks all of it
// against this run (its run id against --run-id, model, settings, data, optimizer name, slot names,
// count and lengths) and brings the out-dir's other files back to agree with it; a fresh start
// refuses an out-dir that holds a run's checkpoint (exit 2) unless --overwrite. Every rank agrees
// on the outcome (a problem: CollectiveError naming the file and what differs, on every rank);
// only then are the run id, the weights, the optimizer state and the Ckpt::restore fields of
// /training sent to every rank. A fresh start sends rank 0's initial weights and a new run id.
Start start_or_resume(const Config& config, const Comm& comm, const Inputs& inputs, Model<float>& model,
                      Optimizer& optimizer);

// Collective, first of the start-up (before the data is read, so a second job is refused at once):
// rank 0 creates --out-dir and takes its lock, held until the process ends; another run holding it
// is CollectiveError(Exit::usage) naming it, on every rank. start_or_resume takes it if not yet taken.
void take_out_dir(const Config& config, const Comm& comm);

// Creates --out-dir; throws Error(Exit::checkpoint) naming the folder (the lock file that follows
// proves it writable).
void prepare_out_dir(const std::string& dir);

// Rank 0: the checkpoint named by --resume (none for a fresh start), checked whole against this run
// and `expected` (this run's optimizer state, for its name and slots). Throws Error(Exit::checkpoint)
// when it is unreadable, corrupt, of another run than --run-id names, or was written by an
// incompatible run (says what differs). Its training.run_id is the run's id (a new one for files
// written before run ids).
std::optional<Checkpoint> load_resume_checkpoint(const Config& config, const Inputs& inputs, const ModelSpec& model,
                                                 const OptimizerState& expected);

// The training state of a fresh run with these options.
TrainingState initial_state(const Config& config, const Inputs& inputs, int world_size);

// training_config: Keras's (keras_training_config), stored as the root attribute.
Checkpoint make_checkpoint(const Model<float>& model, const std::string& training_config, const Optimizer& optimizer,
                           const TrainingState& state, const History& history,
                           const std::optional<Evaluation>& evaluation);

}  // namespace fmnist
