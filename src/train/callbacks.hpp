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
  double rate = 1;                // exponential's decay rate, step's factor
  double alpha = 0;               // cosine
  std::int64_t total_steps = 0;   // the run's steps (epochs * steps per epoch), for step's Keras form
};

// The schedule in steps that the settings' schedule options give (--lr-schedule and those its --help
// names), for a run of --epochs epochs of `steps_per_epoch` steps.
LrSchedule plan_schedule(const Settings& settings, std::int64_t steps_per_epoch);

// Whether the rate can change during the run (a schedule, a warmup or ReduceLROnPlateau): then the
// epoch's line shows it, as Keras logs lr then.
bool rate_changes(const Settings& settings);

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

// The state at the start of a run: the base rate --lr, Keras's starting bests for --monitor.
CallbackState initial_callback_state(const Settings& settings);

// A checkpoint written before callbacks existed leaves NaN (its .older) where a fresh run has a
// value: fills those as initial_callback_state(settings) has them.
void complete_callback_state(CallbackState& state, const Settings& settings);

// What the trainer does after an epoch.
struct EpochDecision {
  double base_lr = 0;           // the base rate from the next epoch on (== state.base_lr)
  bool lr_reduced = false;      // ReduceLROnPlateau lowered it this epoch
  bool stop = false;            // EarlyStopping ends the run now (then restore best_epoch's weights)
  bool keep_weights = false;    // this epoch is EarlyStopping's best so far: keep its weights to restore
  std::int64_t best_epoch = 0;  // EarlyStopping's best epoch so far (0 when it is off)
};

// Applies the callbacks that --early-stopping and --reduce-lr-on-plateau turn on, watching --monitor, to
// the epoch just added to `history` (epoch number history.epochs()), updating `state`. Every rank calling
// it with the same history and state gets the same result.
EpochDecision end_of_epoch(const Settings& settings, const History& history, CallbackState& state);

// The lines Keras prints with verbose=1 for this decision ("Epoch 7: ReduceLROnPlateau reducing learning
// rate to 0.0001.", "Epoch 9: early stopping", "Restoring model weights from the end of the best epoch: 6.").
std::vector<std::string> decision_messages(const EpochDecision& decision, std::int64_t epoch);
// "Restoring model weights from the end of the best epoch: 6.", Keras's line when it restores them.
std::string restore_message(std::int64_t best_epoch);

}  // namespace fmnist
