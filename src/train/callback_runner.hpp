// Keras's callbacks over a run (docs/training.md): the learning-rate schedule at every step, the
// validation figures every rank's callbacks read, their decision at each epoch's end (every rank
// alike), and EarlyStopping's best weights: kept when an epoch is its best, read back from best.h5
// after a resume, put into the model at the run's end. What the callbacks decide: callbacks.hpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "callbacks.hpp"
#include "evaluation.hpp"
#include "fmnist/checkpoint.hpp"
#include "fmnist/comm.hpp"
#include "fmnist/model.hpp"
#include "outputs.hpp"

namespace fmnist {

class CallbackRunner {
 public:
  CallbackRunner(const Settings& settings, const Comm& comm, std::int64_t steps_per_epoch);

  // The checkpoint's training_config: Keras's for this model and optimizer, the rate as the schedule.
  std::string training_config(const ModelSpec& model) const;

  // At start-up: the callbacks' state of a fresh run (or what an older checkpoint lacks), and on the
  // ranks but 0, which have no history, NaN rows up to state.epoch (the callbacks count epochs by it).
  void start(bool resumed, TrainingState& state, History& history) const;
  // Collective, after a resume with EarlyStopping: its best epoch's weights, from the model itself when
  // the checkpoint was written at the end of that epoch (best.h5 is then written again: a kill between
  // checkpoint.h5 and best.h5 may have left an older one), else from best.h5 (rank 0 reads, all receive).
  void load_best_weights(const TrainingState& state, const History& history, const Model<float>& model,
                         const RunFiles& files);

  // The rate of the optimizer step after `step` steps, with the base rate of `state`.
  double rate(const TrainingState& state, std::int64_t step) const;

  // The epoch's validation figures on every rank whose callbacks read them: `val` is what evaluate()
  // gave this rank; with --eval-ranks 0 rank 0 sends its figures in one broadcast (`at`) when a callback
  // watches them. Elsewhere NaN (unread).
  Figures validation_figures(const std::optional<Figures>& val, const WatchPoint& at) const;

  // After the epoch's row is in `history`: the callbacks' decision, updating `state`; keeps the model's
  // weights when the epoch is EarlyStopping's best.
  EpochDecision end_epoch(const History& history, TrainingState& state, const Model<float>& model);

  // EarlyStopping has ended the run.
  bool stopped(const TrainingState& state) const;

  // After the last epoch with EarlyStopping on: its best epoch's weights into the model, whether it
  // stopped early or not (Keras restores only after an early stop; keras#12511). Returns Keras's line.
  std::optional<std::string> restore_best_weights(const TrainingState& state, Model<float>& model) const;

 private:
  const Settings& settings_;
  const Comm& comm_;
  LrSchedule schedule_;
  std::vector<float> best_weights_;  // (num_params): EarlyStopping's best epoch's weights, every rank
};

}  // namespace fmnist
