// Keras's training callbacks as pure functions (docs/training.md): EarlyStopping and ReduceLROnPlateau
// with Keras 2's rules on the history every rank holds, and learning-rate schedules (constant, cosine,
// exponential, step, each with an optional linear warmup) as functions of the optimizer step only, so
// every rank computes the same rate and the same decisions without communicating. No MPI, no HDF5.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fmnist/checkpoint.hpp"
#include "fmnist/history.hpp"
#include "fmnist/settings.hpp"

namespace fmnist {

// Monitor (a History column) and ScheduleKind are choices of the settings table (settings.hpp).
// "val_loss" -> Monitor::val_loss; anything else throws Error(Exit::usage) naming `option`.
Monitor parse_monitor(const std::string& text, const std::string& option);
const char* monitor_name(Monitor monitor);
bool monitor_maximises(Monitor monitor);
// The last epoch's figure of that column (NaN for an empty history).
double monitored_value(const History& history, Monitor monitor);

// keras.callbacks.EarlyStopping(monitor, min_delta, patience), plus restore_best_weights always.
struct EarlyStoppingConfig {
  bool enabled = false;
  Monitor monitor = Monitor::val_loss;
  double min_delta = 0;       // >= 0; an improvement must beat the best by more than this
  std::int64_t patience = 0;  // epochs without improvement before stopping
};

// keras.callbacks.ReduceLROnPlateau with Keras's defaults.
struct PlateauConfig {
  bool enabled = false;
  Monitor monitor = Monitor::val_loss;
  double factor = 0.1;        // in (0, 1): new rate = max(rate * factor, min_lr)
  std::int64_t patience = 10;
  double min_delta = 1e-4;    // >= 0
  std::int64_t cooldown = 0;  // epochs after a reduction before counting again
  double min_lr = 0;          // >= 0
};

// "cosine" -> ScheduleKind::cosine; anything else throws Error(Exit::usage) naming --lr-schedule.
ScheduleKind parse_schedule_kind(const std::string& text);
const char* schedule_kind_name(ScheduleKind kind);

// A schedule as the options give it, in epochs.
struct ScheduleConfig {
  ScheduleKind kind = ScheduleKind::constant;
  std::int64_t warmup_epochs = 0;  // linear warmup before the schedule starts
  std::int64_t decay_epochs = 0;   // cosine: its length (0: the run's epochs after warmup); exponential: 0 means 1
  double decay_rate = 0.9;         // exponential: the factor per decay_epochs, smoothly per step
  std::int64_t step_epochs = 5;    // step: the rate is multiplied by step_factor every step_epochs epochs
  double step_factor = 0.5;
  double alpha = 0;                // cosine: the final rate as a fraction of the initial one
};

// The schedule in optimizer steps, as Keras's LearningRateSchedule counts them. With W warmup steps,
// the rate at step s (the optimizer steps taken before this one, 0 for the first) is
//   s <  W: base * (s + 1) / (W + 1)              linear, never 0, reaching base at s = W
//   s >= W: base * f(d), d = s - W                 f(0) = 1
//     constant    f = 1
//     cosine      f = (1 - alpha) * (1 + cos(pi * min(d, D) / D)) / 2 + alpha
//     exponential f = rate ^ (d / D)
//     step        f = rate ^ floor(d / D)
// W and D are whole epochs of steps, so warmup ends and steps fall on epoch boundaries.
struct LrSchedule {
  ScheduleKind kind = ScheduleKind::constant;
  std::int64_t warmup_steps = 0;  // W
  std::int64_t decay_steps = 1;   // D
  double rate = 1;                // exponential's decay_rate, step's step_factor
  double alpha = 0;               // cosine
  std::int64_t total_steps = 0;   // the run's steps (epochs * steps per epoch), for step's Keras form
};

struct CallbackConfig {
  EarlyStoppingConfig early_stopping;
  PlateauConfig plateau;
  ScheduleConfig schedule;
};

// Throws Error(Exit::usage) naming the option (README's names) for a value out of range; `epochs` is --epochs.
void check_callback_config(const CallbackConfig& config, std::int64_t epochs);

// The schedule in steps for a run of `epochs` epochs of `steps_per_epoch` steps.
LrSchedule plan_schedule(const ScheduleConfig& config, std::int64_t steps_per_epoch, std::int64_t epochs);

// The rate of the update after `step` steps, for the base rate `base_lr` (--lr, after any reduction
// by ReduceLROnPlateau), in double: the optimizer rounds it to float32 once per step.
double scheduled_lr(const LrSchedule& schedule, double base_lr, std::int64_t step);

// Training-config text with optimizer_config.config.learning_rate replaced by the schedule as Keras
// serializes it ({"class_name": "CosineDecay", "config": {...}}), or left a number for a constant rate
// without warmup. Exact at every step for cosine, for constant with warmup (a CosineDecay with alpha 1)
// and for exponential and step without warmup (ExponentialDecay, staircase for step). Keras has no warmup
// for the others, so exponential with warmup is an ExponentialDecay exact from the warmup's end on, and
// step with warmup a PiecewiseConstantDecay exact from there to the run's end (its falls within the run).
// Throws Error(Exit::internal) on text without that field.
std::string with_keras_schedule(const std::string& training_config, const LrSchedule& schedule, double base_lr);

// CallbackState (checkpoint.hpp: FMNIST_CALLBACK_FIELDS) is everything the callbacks remember between
// epochs; the checkpoint's /training and the resume broadcast carry it.

// The state at the start of a run with base rate `lr`.
CallbackState initial_callback_state(const CallbackConfig& config, double lr);

#define FMNIST_VISIT_CALLBACK_FIELD(type, name, default_value, ...) visit(#name, s.name);

// Calls visit(name, field) for every field of CallbackState (double or std::int64_t), in table order.
template <typename State, typename Visit>
void visit_callback_fields(State& s, Visit&& visit) {
  FMNIST_CALLBACK_FIELDS(FMNIST_VISIT_CALLBACK_FIELD)
}

// The options of the settings table as the callbacks' configuration (-1: off).
CallbackConfig callback_config(const Settings& settings);

// A checkpoint written before callbacks existed leaves NaN (its .older) where a fresh run has a
// value: fills those as initial_callback_state(config, lr) has them.
void complete_callback_state(CallbackState& state, const CallbackConfig& config, double lr);

// What the trainer does after an epoch.
struct EpochDecision {
  double base_lr = 0;           // the base rate from the next epoch on (== state.base_lr)
  bool lr_reduced = false;      // ReduceLROnPlateau lowered it this epoch
  bool stop = false;            // EarlyStopping ends the run now (then restore best_epoch's weights)
  bool keep_weights = false;    // this epoch is EarlyStopping's best so far: keep its weights to restore
  std::int64_t best_epoch = 0;  // EarlyStopping's best epoch so far (0 when it is off)
};

// Applies the callbacks to the epoch just added to `history` (epoch number history.epochs()),
// updating `state`. Every rank calling it with the same history and state gets the same result.
EpochDecision end_of_epoch(const CallbackConfig& config, const History& history, CallbackState& state);

// The lines Keras prints with verbose=1 for this decision ("Epoch 7: ReduceLROnPlateau reducing learning
// rate to 0.0001.", "Epoch 9: early stopping", "Restoring model weights from the end of the best epoch: 6.").
std::vector<std::string> decision_messages(const EpochDecision& decision, std::int64_t epoch);
// "Restoring model weights from the end of the best epoch: 6.", Keras's line when it restores them.
std::string restore_message(std::int64_t best_epoch);

}  // namespace fmnist
