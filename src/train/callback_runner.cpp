// The callbacks' part of a run on every rank (callback_runner.hpp): the schedule, the figures they
// read, their decisions and EarlyStopping's best weights, including best.h5 after a resume.
#include "callback_runner.hpp"

#include <algorithm>
#include <limits>

#include "collective.hpp"
#include "fmnist/optimizer.hpp"

namespace fmnist {

CallbackRunner::CallbackRunner(const Settings& settings, const Comm& comm, std::int64_t steps_per_epoch)
    : settings_(settings), comm_(comm), schedule_(plan_schedule(settings, steps_per_epoch)) {}

std::string CallbackRunner::training_config(const ModelSpec& model) const {
  return with_keras_schedule(
      keras_training_config(model, keras_optimizer_config(settings_), settings_.label_smoothing), schedule_,
      settings_.lr);
}

void CallbackRunner::start(bool resumed, TrainingState& state, History& history) const {
  if (!resumed) static_cast<CallbackState&>(state) = initial_callback_state(settings_);
  complete_callback_state(state, settings_);
  while (static_cast<std::int64_t>(history.epochs()) < state.epoch) history.add(EpochRow{});
}

void CallbackRunner::load_best_weights(const TrainingState& state, const History& history, const Model<float>& model,
                                       const RunFiles& files) {
  const std::int64_t best_epoch = state.early_stopping_best_epoch;
  if (!early_stopping_on(settings_) || best_epoch == 0) return;
  if (best_epoch == state.epoch && state.step_in_epoch == 0) {
    best_weights_.assign(model.params(), model.params() + model.num_params());
    files.save_best(state, history);
    return;
  }
  best_weights_.resize(model.num_params());
  collectively(comm_, WatchPoint{"in the start-up check of the checkpoint"}, [&] {
    if (comm_.is_root()) best_weights_ = read_weights_of_epoch(settings_.out_dir + "/best.h5", state.run_id, best_epoch,
                                                           model.num_params());
  });
  comm_.broadcast(best_weights_.data(), best_weights_.size(), WatchPoint{"in the broadcast of the resumed weights"});
}

double CallbackRunner::rate(const TrainingState& state, std::int64_t step) const {
  return scheduled_lr(schedule_, state.base_lr, step);
}

Figures CallbackRunner::validation_figures(const std::optional<Figures>& val, const WatchPoint& at) const {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  double figures[2] = {val ? val->loss : nan, val ? val->accuracy : nan};
  if (watches_monitor(settings_) && settings_.eval_ranks == EvalRanks::root) comm_.broadcast(figures, 2, at);
  return {figures[0], figures[1]};
}

EpochDecision CallbackRunner::end_epoch(const History& history, TrainingState& state, const Model<float>& model) {
  const EpochDecision d = end_of_epoch(settings_, history, state);
  if (d.keep_weights) best_weights_.assign(model.params(), model.params() + model.num_params());
  return d;
}

bool CallbackRunner::stopped(const TrainingState& state) const {
  return early_stopping_on(settings_) && state.early_stopping_stopped_epoch > 0;
}

std::optional<std::string> CallbackRunner::restore_best_weights(const TrainingState& state, Model<float>& model) const {
  if (!early_stopping_on(settings_) || best_weights_.empty()) return std::nullopt;
  std::copy(best_weights_.begin(), best_weights_.end(), model.params());
  return restore_message(state.early_stopping_best_epoch);
}

}  // namespace fmnist
