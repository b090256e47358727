// EarlyStopping and ReduceLROnPlateau exactly as Keras 2 (tf_keras/callbacks.py) decides, including its
// floating-point comparisons and float32 learning rate, and the learning-rate schedules of callbacks.hpp
// with their Keras serialization (tf_keras/optimizers/schedules/learning_rate_schedule.py).
#include "callbacks.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string_view>

#include "fmnist/error.hpp"
#include "fmnist/text.hpp"

namespace fmnist {
namespace {

using ordered_json = nlohmann::ordered_json;
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kPi = 3.14159265358979323846;

// Monitor's choices are the first history columns, in its order: a monitor is its column's index.
constexpr bool monitors_are_columns() {
  const auto& names = EnumNames<Monitor>::names;
  for (std::size_t i = 0; i < names.size(); ++i)
    if (std::string_view(names[i]) != kHistoryColumns[i].key) return false;
  return true;
}
static_assert(monitors_are_columns(), "EnumNames<Monitor> must name the first columns of kHistoryColumns, in order");

bool monitor_maximises(Monitor monitor) { return monitor == Monitor::accuracy || monitor == Monitor::val_accuracy; }

// The last epoch's figure of the monitored column (NaN for an empty history).
double monitored_value(const History& history, Monitor monitor) {
  const std::vector<double>& column = history.*kHistoryColumns[static_cast<std::size_t>(monitor)].values;
  return column.empty() ? std::numeric_limits<double>::quiet_NaN() : column.back();
}

// Keras's starting best: +inf for a minimised monitor, -inf for a maximised one.
double worst_value(Monitor monitor) { return monitor_maximises(monitor) ? -kInf : kInf; }

// EarlyStopping's test, as Keras writes it: monitor_op(current - min_delta, best) with min_delta
// negated in mode min, so min: current + delta < best; max: current - delta > best.
bool stop_improves(const Settings& c, double current, double best) {
  return monitor_maximises(c.monitor) ? current - c.min_delta > best : current + c.min_delta < best;
}

// ReduceLROnPlateau's test, as Keras writes it: min: current < best - delta; max: current > best + delta.
bool plateau_improves(const Settings& c, double current, double best) {
  return monitor_maximises(c.monitor) ? current > best + c.reduce_lr_min_delta : current < best - c.reduce_lr_min_delta;
}

// keras.callbacks.EarlyStopping.on_epoch_end with restore_best_weights: the first epoch's weights are
// kept even if its value is no improvement (NaN); wait counts from 1; a stop needs epoch > 1.
void early_stopping(const Settings& c, double current, std::int64_t epoch, CallbackState& s, EpochDecision& d) {
  if (s.early_stopping_best_epoch == 0) {
    s.early_stopping_best_epoch = epoch;
    d.keep_weights = true;
  }
  s.early_stopping_wait += 1;
  if (stop_improves(c, current, s.early_stopping_best)) {
    s.early_stopping_best = current;
    s.early_stopping_best_epoch = epoch;
    s.early_stopping_wait = 0;
    d.keep_weights = true;
  } else if (s.early_stopping_wait >= c.early_stopping && epoch > 1) {
    s.early_stopping_stopped_epoch = epoch;
    d.stop = true;
  }
  d.best_epoch = s.early_stopping_best_epoch;
}

// keras.callbacks.ReduceLROnPlateau.on_epoch_end: leave cooldown (which resets wait) before the test,
// so `cooldown` c ignores c - 1 epochs; the rate is a float32 variable in Keras, reduced only while it
// is above float32(min_lr), to float32(max(float32(lr) * factor, min_lr)).
void reduce_on_plateau(const Settings& c, double current, CallbackState& s, EpochDecision& d) {
  if (s.plateau_cooldown > 0) {
    s.plateau_cooldown -= 1;
    s.plateau_wait = 0;
  }
  if (plateau_improves(c, current, s.plateau_best)) {
    s.plateau_best = current;
    s.plateau_wait = 0;
    return;
  }
  if (s.plateau_cooldown > 0) return;
  s.plateau_wait += 1;
  if (s.plateau_wait < c.reduce_lr_on_plateau) return;
  const float old_lr = static_cast<float>(s.base_lr);
  if (!(old_lr > static_cast<float>(c.min_lr))) return;
  s.base_lr =
      static_cast<double>(static_cast<float>(std::max(static_cast<double>(old_lr) * c.reduce_lr_factor, c.min_lr)));
  s.plateau_cooldown = c.cooldown;
  s.plateau_wait = 0;
  d.lr_reduced = true;
}

// The schedule's factor f(d) after warmup, d = steps since the warmup ended.
double decay_factor(const LrSchedule& s, std::int64_t d) {
  const double steps = static_cast<double>(s.decay_steps);
  switch (s.kind) {
    case ScheduleKind::constant: return 1.0;
    case ScheduleKind::cosine: {
      const double fraction = static_cast<double>(std::min(d, s.decay_steps)) / steps;
      return (1.0 - s.alpha) * 0.5 * (1.0 + std::cos(kPi * fraction)) + s.alpha;
    }
    case ScheduleKind::exponential: return std::pow(s.rate, static_cast<double>(d) / steps);
    case ScheduleKind::step: return std::pow(s.rate, static_cast<double>(d / s.decay_steps));
  }
  return 1.0;
}

ordered_json cosine_json(double initial, std::int64_t decay_steps, double alpha, double warmup_target,
                         std::int64_t warmup_steps) {
  ordered_json config = {{"initial_learning_rate", initial}, {"decay_steps", decay_steps}, {"alpha", alpha},
                         {"name", nullptr}, {"warmup_target", nullptr}, {"warmup_steps", 0}};
  if (warmup_steps > 0) {
    config["warmup_target"] = warmup_target;
    config["warmup_steps"] = warmup_steps;
  }
  return {{"class_name", "CosineDecay"}, {"config", config}};
}

ordered_json exponential_json(double initial, std::int64_t decay_steps, double rate, bool staircase) {
  return {{"class_name", "ExponentialDecay"},
          {"config",
           {{"initial_learning_rate", initial}, {"decay_steps", decay_steps}, {"decay_rate", rate},
            {"staircase", staircase}, {"name", nullptr}}}};
}

// Step with warmup: the rate falls at W + k*D; PiecewiseConstantDecay gives values[k] for
// boundaries[k-1] < s <= boundaries[k], so the boundaries are W + k*D - 1, within the run.
ordered_json step_after_warmup_json(const LrSchedule& s, double base_lr) {
  ordered_json boundaries = ordered_json::array(), values = ordered_json::array({base_lr});
  for (std::int64_t k = 1; s.warmup_steps + k * s.decay_steps < s.total_steps; ++k) {
    boundaries.push_back(s.warmup_steps + k * s.decay_steps - 1);
    values.push_back(base_lr * std::pow(s.rate, static_cast<double>(k)));
  }
  if (boundaries.empty()) return base_lr;
  return {{"class_name", "PiecewiseConstantDecay"},
          {"config", {{"boundaries", boundaries}, {"values", values}, {"name", nullptr}}}};
}

ordered_json keras_schedule(const LrSchedule& s, double base_lr) {
  const std::int64_t w = s.warmup_steps;
  const double start = base_lr / static_cast<double>(w + 1);  // Keras's warmup starts at initial_learning_rate
  switch (s.kind) {
    case ScheduleKind::constant:
      if (w == 0) return base_lr;
      return cosine_json(start, 1, 1.0, base_lr, w);  // alpha 1: no decay after the warmup
    case ScheduleKind::cosine: return cosine_json(w > 0 ? start : base_lr, s.decay_steps, s.alpha, base_lr, w);
    case ScheduleKind::exponential:
      return exponential_json(base_lr * std::pow(s.rate, -static_cast<double>(w) / static_cast<double>(s.decay_steps)),
                              s.decay_steps, s.rate, false);
    case ScheduleKind::step:
      if (w == 0) return exponential_json(base_lr, s.decay_steps, s.rate, true);
      return step_after_warmup_json(s, base_lr);
  }
  return base_lr;
}

}  // namespace

bool rate_changes(const Settings& settings) {
  return plateau_on(settings) || settings.lr_schedule != ScheduleKind::constant || settings.warmup_epochs > 0;
}

void complete_callback_state(CallbackState& state, const Settings& settings) {
  const CallbackState fresh = initial_callback_state(settings);
  if (std::isnan(state.base_lr)) state.base_lr = fresh.base_lr;
  if (std::isnan(state.early_stopping_best)) state.early_stopping_best = fresh.early_stopping_best;
  if (std::isnan(state.plateau_best)) state.plateau_best = fresh.plateau_best;
}

LrSchedule plan_schedule(const Settings& c, std::int64_t steps_per_epoch) {
  LrSchedule s;
  s.kind = c.lr_schedule;
  s.warmup_steps = c.warmup_epochs * steps_per_epoch;
  s.total_steps = c.epochs * steps_per_epoch;
  s.alpha = c.lr_alpha;
  switch (c.lr_schedule) {
    case ScheduleKind::constant: break;
    case ScheduleKind::cosine:
      s.decay_steps = (c.lr_decay_epochs > 0 ? c.lr_decay_epochs : c.epochs - c.warmup_epochs) * steps_per_epoch;
      break;
    case ScheduleKind::exponential:
      s.decay_steps = (c.lr_decay_epochs > 0 ? c.lr_decay_epochs : 1) * steps_per_epoch;
      s.rate = c.lr_decay_rate;
      break;
    case ScheduleKind::step:
      s.decay_steps = c.lr_step_epochs * steps_per_epoch;
      s.rate = c.lr_step_factor;
      break;
  }
  s.decay_steps = std::max<std::int64_t>(s.decay_steps, 1);
  return s;
}

double scheduled_lr(const LrSchedule& s, double base_lr, std::int64_t step) {
  if (step < s.warmup_steps)
    return base_lr * static_cast<double>(step + 1) / static_cast<double>(s.warmup_steps + 1);
  return base_lr * decay_factor(s, step - s.warmup_steps);
}

std::string with_keras_schedule(const std::string& training_config, const LrSchedule& schedule, double base_lr) {
  ordered_json doc = ordered_json::parse(training_config, nullptr, false);
  if (doc.is_discarded() || !doc.contains("optimizer_config") || !doc["optimizer_config"].contains("config") ||
      !doc["optimizer_config"]["config"].contains("learning_rate"))
    throw Error(Exit::internal, "training_config has no optimizer_config.config.learning_rate: " + training_config);
  doc["optimizer_config"]["config"]["learning_rate"] = keras_schedule(schedule, base_lr);
  return doc.dump();
}

CallbackState initial_callback_state(const Settings& settings) {
  CallbackState s;
  s.base_lr = settings.lr;
  s.early_stopping_best = worst_value(settings.monitor);
  s.plateau_best = worst_value(settings.monitor);
  return s;
}

EpochDecision end_of_epoch(const Settings& settings, const History& history, CallbackState& state) {
  EpochDecision d;
  const std::int64_t epoch = static_cast<std::int64_t>(history.epochs());
  const double current = monitored_value(history, settings.monitor);
  if (plateau_on(settings)) reduce_on_plateau(settings, current, state, d);
  if (early_stopping_on(settings)) early_stopping(settings, current, epoch, state, d);
  d.base_lr = state.base_lr;
  return d;
}

std::vector<std::string> decision_messages(const EpochDecision& decision, std::int64_t epoch) {
  std::vector<std::string> lines;
  const std::string at = "Epoch " + std::to_string(epoch) + ": ";
  if (decision.lr_reduced)
    lines.push_back(at + "ReduceLROnPlateau reducing learning rate to " + float32_text(decision.base_lr) + ".");
  if (decision.stop) lines.push_back(at + "early stopping");
  return lines;
}

std::string restore_message(std::int64_t best_epoch) {
  return "Restoring model weights from the end of the best epoch: " + std::to_string(best_epoch) + ".";
}

}  // namespace fmnist
