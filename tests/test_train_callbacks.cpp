// The callbacks' decisions on histories written out by hand against Keras 2's rules (tf_keras/callbacks.py),
// the schedules against their closed forms and against Keras's own formulas evaluated from the JSON we
// write, the state's round trip through the checkpoint's visitor, and Optimizer::set_lr. The callbacks
// read the settings table's options directly (settings.hpp).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "callbacks.hpp"
#include "fmnist/error.hpp"
#include "fmnist/optimizer.hpp"

namespace fmnist {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kPi = 3.14159265358979323846;

// A history whose monitored column (the others hold 0.5) takes `values`, one epoch each.
History history_of(Monitor monitor, const std::vector<double>& values) {
  History h;
  for (double v : values) {
    h.add({.loss = 0.5, .accuracy = 0.5, .val_loss = 0.5, .val_accuracy = 0.5, .seconds = 1.0});
    (h.*kHistoryColumns[static_cast<std::size_t>(monitor)].values).back() = v;  // a monitor is a column
  }
  return h;
}

// One epoch's figures with seconds 1 and no rate.
EpochRow row(double loss, double accuracy, double val_loss, double val_accuracy) {
  return {.loss = loss, .accuracy = accuracy, .val_loss = val_loss, .val_accuracy = val_accuracy, .seconds = 1.0};
}

// Runs end_of_epoch after each epoch of `values`, as the trainer would, until a stop.
struct Trace {
  std::vector<EpochDecision> decisions;
  CallbackState state;
};
Trace run(const Settings& settings, Monitor monitor, const std::vector<double>& values) {
  Trace r{{}, initial_callback_state(settings)};
  History h;
  const History all = history_of(monitor, values);
  for (std::size_t e = 0; e < values.size(); ++e) {
    h.add(row(all.loss[e], all.accuracy[e], all.val_loss[e], all.val_accuracy[e]));
    r.decisions.push_back(end_of_epoch(settings, h, r.state));
    if (r.decisions.back().stop) break;
  }
  return r;
}

Settings stopping(std::int64_t patience, double min_delta = 0, Monitor monitor = Monitor::val_loss) {
  Settings s;
  s.early_stopping = patience;
  s.min_delta = min_delta;
  s.monitor = monitor;
  return s;
}

Settings plateau(std::int64_t patience, std::int64_t cooldown = 0, double min_lr = 0,
                 Monitor monitor = Monitor::val_loss, double min_delta = 1e-4) {
  Settings s;
  s.reduce_lr_on_plateau = patience;
  s.cooldown = cooldown;
  s.min_lr = min_lr;
  s.monitor = monitor;
  s.reduce_lr_min_delta = min_delta;
  return s;
}

// Keras's reduction of a float32 rate: float32(max(float32(lr) * factor, min_lr)).
double keras_reduced(double lr, double factor = 0.1, double min_lr = 0) {
  return static_cast<float>(std::max(static_cast<double>(static_cast<float>(lr)) * factor, min_lr));
}

TEST(EarlyStopping, PatienceZeroStopsAtTheFirstEpochWithoutImprovement) {
  const Trace r = run(stopping(0), Monitor::val_loss, {1.0, 0.9, 0.95, 0.5});
  ASSERT_EQ(r.decisions.size(), 3u);
  EXPECT_TRUE(r.decisions[2].stop);
  EXPECT_EQ(r.decisions[2].best_epoch, 2);
  EXPECT_EQ(r.state.early_stopping_stopped_epoch, 3);
  EXPECT_EQ(r.state.early_stopping_best, 0.9);
  EXPECT_TRUE(r.decisions[0].keep_weights && r.decisions[1].keep_weights);
  EXPECT_FALSE(r.decisions[2].keep_weights);
}

TEST(EarlyStopping, ATieIsNoImprovementAndWaitCountsToPatience) {
  const Trace r = run(stopping(2), Monitor::val_loss, {1.0, 0.9, 0.9, 0.91, 0.1});
  ASSERT_EQ(r.decisions.size(), 4u);  // wait 1 after epoch 3, 2 after epoch 4
  EXPECT_FALSE(r.decisions[2].stop);
  EXPECT_TRUE(r.decisions[3].stop);
  EXPECT_EQ(r.decisions[3].best_epoch, 2);
  EXPECT_EQ(r.state.early_stopping_wait, 2);
}

TEST(EarlyStopping, AnImprovementResetsTheWait) {
  const Trace r = run(stopping(2), Monitor::val_loss, {1.0, 1.1, 0.8, 0.9, 0.85, 0.7});
  ASSERT_EQ(r.decisions.size(), 5u);  // epoch 3 resets; epochs 4 and 5 stop it
  EXPECT_TRUE(r.decisions[4].stop);
  EXPECT_EQ(r.decisions[4].best_epoch, 3);
}

TEST(EarlyStopping, NeverStopsAfterTheFirstEpochAndKeepsItsWeightsEvenIfNaN) {
  Trace r = run(stopping(0), Monitor::val_loss, {kNaN});
  EXPECT_FALSE(r.decisions[0].stop);
  EXPECT_TRUE(r.decisions[0].keep_weights);
  EXPECT_EQ(r.decisions[0].best_epoch, 1);
  EXPECT_EQ(r.state.early_stopping_best, std::numeric_limits<double>::infinity());
  r = run(stopping(0), Monitor::val_loss, {kNaN, kNaN});
  EXPECT_TRUE(r.decisions[1].stop);
  EXPECT_EQ(r.decisions[1].best_epoch, 1);
  r = run(stopping(0), Monitor::val_loss, {kNaN, 2.0, 3.0});
  EXPECT_EQ(r.decisions.size(), 3u);
  EXPECT_EQ(r.decisions[2].best_epoch, 2);
}

TEST(EarlyStopping, MinDeltaIsKerasCurrentPlusDeltaBelowBest) {
  // 0.3 + 0.1 == 0.4 in double: no improvement (ReduceLROnPlateau's 0.3 < 0.4 - 0.1 would say yes).
  Trace r = run(stopping(5, 0.1), Monitor::val_loss, {0.4, 0.3});
  EXPECT_EQ(r.state.early_stopping_best, 0.4);
  EXPECT_EQ(r.state.early_stopping_wait, 1);
  r = run(stopping(5, 0.1), Monitor::val_loss, {0.4, 0.29});
  EXPECT_EQ(r.state.early_stopping_best, 0.29);
  EXPECT_EQ(r.state.early_stopping_wait, 0);
}

TEST(EarlyStopping, AccuracyMonitorsAreMaximised) {
  const Trace r = run(stopping(1, 0, Monitor::val_accuracy), Monitor::val_accuracy, {0.8, 0.85, 0.85, 0.9});
  ASSERT_EQ(r.decisions.size(), 3u);
  EXPECT_TRUE(r.decisions[2].stop);
  EXPECT_EQ(r.decisions[2].best_epoch, 2);
  EXPECT_EQ(r.state.early_stopping_best, 0.85);
  // With min_delta: current - delta > best.
  const Trace d = run(stopping(1, 0.05, Monitor::accuracy), Monitor::accuracy, {0.8, 0.84, 0.9});
  EXPECT_TRUE(d.decisions[1].stop);  // 0.84 - 0.05 is not above 0.8
  EXPECT_EQ(d.decisions[1].best_epoch, 1);
}

TEST(EarlyStopping, WatchesOnlyItsMonitorColumn) {
  const Trace r = run(stopping(0, 0, Monitor::loss), Monitor::loss, {1.0, 0.9, 0.8, 0.7});
  EXPECT_EQ(r.decisions.size(), 4u);  // val_loss is 0.5 throughout and is ignored
  EXPECT_FALSE(r.decisions.back().stop);
  EXPECT_EQ(r.state.early_stopping_best, 0.7);
}

TEST(ReduceLROnPlateau, ReducesWhenWaitReachesPatienceAndCountsAgain) {
  const Trace r = run(plateau(2), Monitor::val_loss, {1, 1, 1, 1, 1, 1, 1});
  const std::vector<bool> reduced = {false, false, true, false, true, false, true};
  for (std::size_t e = 0; e < reduced.size(); ++e)
    EXPECT_EQ(r.decisions[e].lr_reduced, reduced[e]) << "epoch " << e + 1;
  const double once = keras_reduced(0.001), twice = keras_reduced(once), thrice = keras_reduced(twice);
  EXPECT_EQ(r.decisions[2].base_lr, once);
  EXPECT_EQ(r.decisions[3].base_lr, once);  // applies from the next epoch and stays
  EXPECT_EQ(r.decisions[4].base_lr, twice);
  EXPECT_EQ(r.state.base_lr, thrice);
  EXPECT_NEAR(thrice, 1e-6, 1e-12);
  EXPECT_EQ(static_cast<double>(static_cast<float>(r.state.base_lr)), r.state.base_lr);  // a float32 value, like Keras's variable
  EXPECT_FALSE(r.decisions.back().stop);
}

TEST(ReduceLROnPlateau, CooldownOneChangesNothingAndTwoSkipsOneEpoch) {
  // Keras leaves cooldown before testing, so cooldown c ignores c - 1 epochs after a reduction.
  const std::vector<double> flat(9, 1.0);
  const auto reductions = [&](std::int64_t cooldown) {
    std::vector<int> at;
    const Trace r = run(plateau(2, cooldown), Monitor::val_loss, flat);
    for (std::size_t e = 0; e < r.decisions.size(); ++e)
      if (r.decisions[e].lr_reduced) at.push_back(static_cast<int>(e + 1));
    return at;
  };
  EXPECT_EQ(reductions(0), (std::vector<int>{3, 5, 7, 9}));
  EXPECT_EQ(reductions(1), (std::vector<int>{3, 5, 7, 9}));
  EXPECT_EQ(reductions(2), (std::vector<int>{3, 6, 9}));
  EXPECT_EQ(reductions(3), (std::vector<int>{3, 7}));
}

TEST(ReduceLROnPlateau, AnImprovementDuringCooldownStillCounts) {
  const Trace r = run(plateau(1, 3), Monitor::val_loss, {1, 1, 0.5, 0.6, 0.7, 0.8});
  EXPECT_TRUE(r.decisions[1].lr_reduced);
  EXPECT_EQ(r.state.plateau_best, 0.5);
  EXPECT_FALSE(r.decisions[3].lr_reduced);  // cooldown 3 ignores epochs 3 and 4 (3 -> 2 -> 1)
  EXPECT_TRUE(r.decisions[4].lr_reduced);   // epoch 5 leaves it (1 -> 0) and counts
  EXPECT_FALSE(r.decisions[5].lr_reduced);
}

TEST(ReduceLROnPlateau, StopsAtMinLrAndThenNeitherCoolsDownNorResetsWait) {
  const Trace r = run(plateau(1, 2, 5e-5), Monitor::val_loss, {1, 1, 1, 1, 1, 1, 1, 1});
  EXPECT_EQ(r.decisions[1].base_lr, keras_reduced(0.001));  // 1e-4
  EXPECT_TRUE(r.decisions[3].lr_reduced);              // after cooldown 2: epoch 4
  EXPECT_EQ(r.decisions[3].base_lr, static_cast<double>(static_cast<float>(5e-5)));  // max(1e-5, min_lr)
  for (std::size_t e = 4; e < r.decisions.size(); ++e) EXPECT_FALSE(r.decisions[e].lr_reduced) << e + 1;
  EXPECT_EQ(r.state.base_lr, static_cast<double>(static_cast<float>(5e-5)));
  EXPECT_EQ(r.state.plateau_cooldown, 0);
  EXPECT_EQ(r.state.plateau_wait, 3);  // epochs 6, 7, 8 (epoch 5 left the cooldown)
}

TEST(ReduceLROnPlateau, PatienceZeroReducesOnEveryEpochWithoutImprovement) {
  const Trace r = run(plateau(0), Monitor::val_loss, {1, 0.5, 0.6, 0.4, 0.7});
  const std::vector<bool> reduced = {false, false, true, false, true};
  for (std::size_t e = 0; e < reduced.size(); ++e)
    EXPECT_EQ(r.decisions[e].lr_reduced, reduced[e]) << "epoch " << e + 1;
}

TEST(ReduceLROnPlateau, MinDeltaIsKerasCurrentBelowBestMinusDelta) {
  // 0.3 < 0.4 - 0.1 (= 0.30000000000000004): an improvement here, unlike EarlyStopping's form.
  Trace r = run(plateau(5, 0, 0, Monitor::val_loss, 0.1), Monitor::val_loss, {0.4, 0.3});
  EXPECT_EQ(r.state.plateau_best, 0.3);
  EXPECT_EQ(r.state.plateau_wait, 0);
  r = run(plateau(5), Monitor::val_loss, {1.0, 0.99995});  // less than the default 1e-4 better
  EXPECT_EQ(r.state.plateau_best, 1.0);
  EXPECT_EQ(r.state.plateau_wait, 1);
}

TEST(ReduceLROnPlateau, AccuracyIsMaximised) {
  const Trace r = run(plateau(1, 0, 0, Monitor::val_accuracy), Monitor::val_accuracy, {0.8, 0.9, 0.90005, 0.95});
  EXPECT_FALSE(r.decisions[1].lr_reduced);
  EXPECT_TRUE(r.decisions[2].lr_reduced);  // 0.90005 is not above 0.9 + 1e-4
  EXPECT_EQ(r.state.plateau_best, 0.95);
}

// Both on --monitor (one option for both, as in the table): ReduceLROnPlateau reduces while EarlyStopping counts.
TEST(Callbacks, BothRunTogetherOnTheMonitor) {
  Settings c = plateau(1);
  c.early_stopping = 2;
  History h;
  CallbackState s = initial_callback_state(c);
  h.add(row(1.0, 0.5, 1.0, 0.5));
  EXPECT_FALSE(end_of_epoch(c, h, s).lr_reduced);
  h.add(row(0.9, 0.5, 1.0, 0.5));  // val_loss flat: reduce; EarlyStopping waits
  EpochDecision d = end_of_epoch(c, h, s);
  EXPECT_TRUE(d.lr_reduced);
  EXPECT_FALSE(d.stop);
  EXPECT_EQ(d.best_epoch, 1);
  h.add(row(0.8, 0.5, 0.9, 0.5));  // better for both
  d = end_of_epoch(c, h, s);
  EXPECT_FALSE(d.lr_reduced);
  EXPECT_EQ(d.best_epoch, 3);
  h.add(row(0.5, 0.5, 0.95, 0.5));
  h.add(row(0.4, 0.5, 0.95, 0.5));
  d = end_of_epoch(c, h, s);  // called once for two epochs: sees only the last
  EXPECT_FALSE(d.stop);
  EXPECT_TRUE(d.lr_reduced);
  h.add(row(0.3, 0.5, 0.95, 0.5));
  d = end_of_epoch(c, h, s);
  EXPECT_TRUE(d.stop);
  EXPECT_EQ(s.early_stopping_stopped_epoch, 6);
  EXPECT_EQ(d.best_epoch, 3);
  EXPECT_EQ(d.base_lr, keras_reduced(keras_reduced(keras_reduced(0.001))));
  const EpochDecision off = end_of_epoch(Settings{}, h, s);
  EXPECT_FALSE(off.stop || off.lr_reduced || off.keep_weights);
  EXPECT_EQ(off.best_epoch, 0);
}

TEST(Callbacks, MessagesAreKeras) {
  EpochDecision d;
  d.lr_reduced = true;
  d.base_lr = keras_reduced(0.001);
  d.stop = true;
  EXPECT_EQ(decision_messages(d, 7), (std::vector<std::string>{
                                         "Epoch 7: ReduceLROnPlateau reducing learning rate to 0.0001.",
                                         "Epoch 7: early stopping"}));
  EXPECT_TRUE(decision_messages(EpochDecision{}, 3).empty());
  EXPECT_EQ(restore_message(6), "Restoring model weights from the end of the best epoch: 6.");
}

// The callbacks' options are checked by the settings table (check_settings), each naming its option.
TEST(Callbacks, ConfigChecksNameTheOption) {
  const auto message = [](const Settings& c) {
    try {
      check_settings(c);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Exit::usage);
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(message(Settings{}), "");
  Settings c;
  c.reduce_lr_factor = 1.0;
  EXPECT_NE(message(c).find("--reduce-lr-factor"), std::string::npos);
  c = {};
  c.min_delta = -0.1;
  EXPECT_NE(message(c).find("--min-delta"), std::string::npos);
  c = {};
  c.min_lr = kNaN;
  EXPECT_NE(message(c).find("--min-lr"), std::string::npos);
  c = {};
  c.lr_schedule = ScheduleKind::cosine;
  c.warmup_epochs = 15;
  EXPECT_NE(message(c).find("--warmup-epochs"), std::string::npos);
  c.lr_decay_epochs = 10;
  EXPECT_EQ(message(c), "");
  c.lr_alpha = 1.5;
  EXPECT_NE(message(c).find("--lr-alpha"), std::string::npos);
  Monitor monitor = Monitor::loss;
  EXPECT_TRUE(from_text("val_acc", monitor));
  EXPECT_FALSE(from_text("val_accuracy", monitor));
  EXPECT_EQ(monitor, Monitor::val_accuracy);
  ScheduleKind kind = ScheduleKind::constant;
  EXPECT_FALSE(from_text("step", kind));
  EXPECT_EQ(kind, ScheduleKind::step);
  EXPECT_TRUE(from_text("linear", kind));
}

// ---- schedules ----

constexpr std::int64_t kSteps = 83;  // per epoch: ceil(42000 / 512)
constexpr ScheduleKind kAllKinds[] = {ScheduleKind::constant, ScheduleKind::cosine, ScheduleKind::exponential,
                                      ScheduleKind::step};

LrSchedule planned(ScheduleKind kind, std::int64_t warmup_epochs = 0, int epochs = 15) {
  Settings s;
  s.lr_schedule = kind;
  s.warmup_epochs = warmup_epochs;
  s.lr_alpha = 0.1;
  s.epochs = epochs;
  return plan_schedule(s, kSteps);
}

TEST(Schedule, ConstantIsTheBaseRateAtEveryStep) {
  const LrSchedule s = planned(ScheduleKind::constant);
  for (std::int64_t step : {0, 1, 82, 83, 10000}) EXPECT_EQ(scheduled_lr(s, 0.001, step), 0.001);
}

TEST(Schedule, CosineFollowsItsClosedFormOverTheRunAfterWarmup) {
  const LrSchedule s = planned(ScheduleKind::cosine, 3);
  ASSERT_EQ(s.warmup_steps, 3 * kSteps);
  ASSERT_EQ(s.decay_steps, 12 * kSteps);
  const double lr = 0.002, d = static_cast<double>(s.decay_steps);
  EXPECT_DOUBLE_EQ(scheduled_lr(s, lr, s.warmup_steps), lr);
  for (std::int64_t k : {1, 100, 500, 995}) {
    const double f = 0.5 * (1 + std::cos(kPi * static_cast<double>(k) / d));
    EXPECT_NEAR(scheduled_lr(s, lr, s.warmup_steps + k), lr * (0.9 * f + 0.1), 1e-15) << k;
  }
  EXPECT_NEAR(scheduled_lr(s, lr, s.warmup_steps + s.decay_steps / 2), lr * 0.55, 1e-15);
  EXPECT_NEAR(scheduled_lr(s, lr, s.warmup_steps + s.decay_steps), lr * 0.1, 1e-15);
  EXPECT_NEAR(scheduled_lr(s, lr, 100000), lr * 0.1, 1e-15);  // floor after the decay
}

TEST(Schedule, ExponentialDecaysSmoothlyByTheRatePerDecayPeriod) {
  Settings c;
  c.lr_schedule = ScheduleKind::exponential;
  c.lr_decay_rate = 0.8;
  const LrSchedule s = plan_schedule(c, kSteps);
  EXPECT_EQ(s.decay_steps, kSteps);
  EXPECT_EQ(scheduled_lr(s, 0.001, 0), 0.001);
  EXPECT_NEAR(scheduled_lr(s, 0.001, kSteps), 0.0008, 1e-18);
  EXPECT_NEAR(scheduled_lr(s, 0.001, 5 * kSteps), 0.001 * std::pow(0.8, 5), 1e-18);
  EXPECT_NEAR(scheduled_lr(s, 0.001, 41), 0.001 * std::pow(0.8, 41.0 / 83.0), 1e-18);
}

TEST(Schedule, StepFallsAtEpochBoundaries) {
  const LrSchedule s = planned(ScheduleKind::step);  // every 5 epochs, factor 0.5
  EXPECT_EQ(scheduled_lr(s, 0.001, 5 * kSteps - 1), 0.001);
  EXPECT_EQ(scheduled_lr(s, 0.001, 5 * kSteps), 0.0005);
  EXPECT_EQ(scheduled_lr(s, 0.001, 10 * kSteps - 1), 0.0005);
  EXPECT_EQ(scheduled_lr(s, 0.001, 10 * kSteps), 0.00025);
  const LrSchedule w = planned(ScheduleKind::step, 2);  // after 2 warmup epochs: falls at epochs 7, 12
  EXPECT_EQ(scheduled_lr(w, 0.001, 7 * kSteps - 1), 0.001);
  EXPECT_EQ(scheduled_lr(w, 0.001, 7 * kSteps), 0.0005);
}

TEST(Schedule, WarmupRampsLinearlyToTheBaseRateNeverFromZero) {
  for (ScheduleKind kind : kAllKinds) {
    const LrSchedule s = planned(kind, 2);
    const std::int64_t w = 2 * kSteps;
    ASSERT_EQ(s.warmup_steps, w);
    EXPECT_DOUBLE_EQ(scheduled_lr(s, 0.01, 0), 0.01 / static_cast<double>(w + 1));
    EXPECT_DOUBLE_EQ(scheduled_lr(s, 0.01, 100), 0.01 * 101.0 / static_cast<double>(w + 1));
    EXPECT_DOUBLE_EQ(scheduled_lr(s, 0.01, w - 1), 0.01 * static_cast<double>(w) / static_cast<double>(w + 1));
    EXPECT_DOUBLE_EQ(scheduled_lr(s, 0.01, w), 0.01);
    for (std::int64_t step = 1; step <= w; ++step)
      ASSERT_GT(scheduled_lr(s, 0.01, step), scheduled_lr(s, 0.01, step - 1)) << to_text(kind) << step;
  }
}

// Keras's LearningRateSchedule.__call__ for the classes we write, evaluated from their JSON (in double).
double keras_rate(const nlohmann::json& lr, std::int64_t step) {
  if (lr.is_number()) return lr.get<double>();
  const nlohmann::json& c = lr.at("config");
  const double s = static_cast<double>(step);
  const std::string name = lr.at("class_name");
  if (name == "ExponentialDecay") {
    double p = s / c.at("decay_steps").get<double>();
    if (c.at("staircase").get<bool>()) p = std::floor(p);
    return c.at("initial_learning_rate").get<double>() * std::pow(c.at("decay_rate").get<double>(), p);
  }
  if (name == "PiecewiseConstantDecay") {
    const auto b = c.at("boundaries").get<std::vector<double>>();
    const auto v = c.at("values").get<std::vector<double>>();
    std::size_t i = 0;
    while (i < b.size() && s > b[i]) ++i;
    return v[i];
  }
  EXPECT_EQ(name, "CosineDecay");
  const double initial = c.at("initial_learning_rate"), d = c.at("decay_steps"), alpha = c.at("alpha");
  const auto decay = [&](double t, double from) {
    return from * ((1 - alpha) * 0.5 * (1.0 + std::cos(kPi * t / d)) + alpha);
  };
  if (c.at("warmup_target").is_null()) return decay(std::min(s, d), initial);
  const double target = c.at("warmup_target"), w = c.at("warmup_steps");
  const double t = std::min(s, d + w);
  return t < w ? (target - initial) * (t / w) + initial : decay(t - w, target);
}

nlohmann::json keras_lr(const LrSchedule& s, double lr) {
  const std::string base =
      R"({"loss":"categorical_crossentropy","optimizer_config":{"class_name":"RMSprop",)"
      R"("config":{"name":"RMSprop","learning_rate":0.001,"rho":0.9}}})";
  const nlohmann::ordered_json doc = nlohmann::ordered_json::parse(with_keras_schedule(base, s, lr));
  EXPECT_EQ(doc["optimizer_config"]["config"].begin().key(), "name");  // the field keeps its place
  EXPECT_EQ(doc["optimizer_config"]["config"]["rho"], 0.9);
  return nlohmann::json::parse(doc["optimizer_config"]["config"]["learning_rate"].dump());
}

TEST(Schedule, KerasFormGivesTheSameRateAtEveryStepOfTheRun) {
  const double lr = 0.003;
  for (ScheduleKind kind : kAllKinds)
    for (std::int64_t warmup : {0, 2}) {
      const LrSchedule s = planned(kind, warmup, 12);
      const nlohmann::json k = keras_lr(s, lr);
      // Exact from the start, except exponential and step with warmup: from the warmup's end.
      const bool whole = warmup == 0 || kind == ScheduleKind::constant || kind == ScheduleKind::cosine;
      for (std::int64_t step = whole ? 0 : s.warmup_steps; step < s.total_steps + 50; ++step) {
        if (kind == ScheduleKind::step && warmup > 0 && step >= s.total_steps) break;  // a table for the run
        ASSERT_NEAR(keras_rate(k, step), scheduled_lr(s, lr, step), 1e-15)
            << to_text(kind) << " warmup " << warmup << " step " << step << ": " << k.dump();
      }
    }
}

TEST(Schedule, KerasFormNamesKerasClasses) {
  EXPECT_TRUE(keras_lr(planned(ScheduleKind::constant), 0.001).is_number());
  EXPECT_EQ(keras_lr(planned(ScheduleKind::constant, 1), 0.001)["class_name"], "CosineDecay");
  const nlohmann::json cosine = keras_lr(planned(ScheduleKind::cosine), 0.001);
  EXPECT_EQ(cosine["class_name"], "CosineDecay");
  EXPECT_EQ(cosine["config"]["decay_steps"], 15 * kSteps);
  EXPECT_EQ(cosine["config"]["initial_learning_rate"], 0.001);
  EXPECT_TRUE(cosine["config"]["warmup_target"].is_null());
  const nlohmann::json step = keras_lr(planned(ScheduleKind::step), 0.001);
  EXPECT_EQ(step["class_name"], "ExponentialDecay");
  EXPECT_EQ(step["config"]["staircase"], true);
  EXPECT_EQ(keras_lr(planned(ScheduleKind::step, 1), 0.001)["class_name"], "PiecewiseConstantDecay");
  EXPECT_THROW(with_keras_schedule("{}", planned(ScheduleKind::cosine), 0.001), Error);
}

// ---- state ----

// The callback fields by name, as text (exact: doubles print as their shortest round-trip text),
// through the checkpoint's visitor of /training, which the checkpoint and the resume broadcast use.
#define FMNIST_CALLBACK_FIELD_NAME(type, name, ...) #name,
const std::set<std::string> kCallbackFields = {FMNIST_CALLBACK_FIELDS(FMNIST_CALLBACK_FIELD_NAME)};

std::map<std::string, std::string> fields_of(const CallbackState& s) {
  TrainingState t;
  static_cast<CallbackState&>(t) = s;
  std::map<std::string, std::string> out;
  visit_training_fields(t, [&](const SettingInfo& info, const auto& value) {
    if (kCallbackFields.count(info.key)) {
      EXPECT_TRUE(out.emplace(info.key, to_text(value)).second) << info.key;
    }
  });
  return out;
}

TEST(CallbackState, RoundTripsThroughTheVisitor) {
  Settings c = plateau(1);
  c.early_stopping = 3;
  const Trace r = run(c, Monitor::val_loss, {1, 1, 1});
  const std::map<std::string, std::string> saved = fields_of(r.state);
  // Every field is visited: the struct holds exactly these 8-byte fields.
  EXPECT_EQ(saved.size(), kCallbackFields.size());
  EXPECT_EQ(saved.size() * 8, sizeof(CallbackState));
  Settings other;
  other.lr = 0.5;
  TrainingState t;
  static_cast<CallbackState&>(t) = initial_callback_state(other);
  visit_training_fields(t, [&](const SettingInfo& info, auto& field) {
    if (kCallbackFields.count(info.key)) {
      EXPECT_FALSE(from_text(saved.at(info.key), field)) << info.key;
    }
  });
  const CallbackState restored = t;
  EXPECT_EQ(fields_of(restored), saved);
  EXPECT_EQ(restored.base_lr, keras_reduced(keras_reduced(0.001)));  // epochs 2 and 3
  EXPECT_EQ(restored.early_stopping_best_epoch, 1);
  EXPECT_EQ(restored.plateau_best, 1.0);
  EXPECT_EQ(restored.early_stopping_best, 1.0);
  EXPECT_EQ(restored.early_stopping_wait, 2);
  // A restored state decides as the original would.
  History h = history_of(Monitor::val_loss, {1, 1, 1, 1});
  CallbackState a = r.state, b = restored;
  const EpochDecision da = end_of_epoch(c, h, a), db = end_of_epoch(c, h, b);
  EXPECT_EQ(da.base_lr, db.base_lr);
  EXPECT_EQ(da.stop, db.stop);
  EXPECT_TRUE(da.stop);
  EXPECT_EQ(fields_of(a), fields_of(b));
}

TEST(CallbackState, StartsAtKerasInfinities) {
  Settings c;
  c.lr = 0.002;
  CallbackState s = initial_callback_state(c);
  EXPECT_EQ(s.base_lr, 0.002);
  EXPECT_EQ(s.early_stopping_best, std::numeric_limits<double>::infinity());  // val_loss, minimised
  EXPECT_EQ(s.plateau_best, std::numeric_limits<double>::infinity());
  c.monitor = Monitor::accuracy;
  s = initial_callback_state(c);
  EXPECT_EQ(s.early_stopping_best, -std::numeric_limits<double>::infinity());
  EXPECT_EQ(s.plateau_best, -std::numeric_limits<double>::infinity());
  EXPECT_EQ(s.early_stopping_best_epoch + s.early_stopping_wait + s.early_stopping_stopped_epoch + s.plateau_wait + s.plateau_cooldown, 0);
}

// ---- Optimizer::set_lr ----

TEST(OptimizerLr, SetLrGivesTheBytesOfAnOptimizerMadeWithThatRate) {
  const double rate = scheduled_lr(planned(ScheduleKind::cosine), 0.001, 777);
  const float g[3] = {0.5f, -0.1f, 0.25f};
  for (const OptimizerKind kind : {OptimizerKind::rmsprop, OptimizerKind::adam, OptimizerKind::sgd}) {
    Settings c;
    c.optimizer = kind;
    auto unchanged = make_optimizer(c, 3), changed = make_optimizer(c, 3);
    changed->set_lr(rate);
    c.lr = rate;
    auto made = make_optimizer(c, 3);
    float a[3] = {1.0f, -2.0f, 0.5f}, b[3] = {1.0f, -2.0f, 0.5f}, u[3] = {1.0f, -2.0f, 0.5f};
    for (int step = 0; step < 3; ++step) {
      made->step(a, g);
      changed->step(b, g);
      unchanged->step(u, g);
    }
    EXPECT_EQ(std::memcmp(a, b, sizeof a), 0) << to_text(kind);
    EXPECT_NE(std::memcmp(a, u, sizeof a), 0) << to_text(kind);  // the rate did change the update
  }
}

TEST(OptimizerLr, RejectsNegativeOrNonFiniteRates) {
  auto opt = make_optimizer(Settings{}, 1);
  EXPECT_THROW(opt->set_lr(-1e-3), Error);
  EXPECT_THROW(opt->set_lr(kNaN), Error);
  EXPECT_THROW(opt->set_lr(std::numeric_limits<double>::infinity()), Error);
  opt->set_lr(0);
  float w = 1.0f;
  const float g = 1.0f;
  opt->step(&w, &g);
  EXPECT_EQ(w, 1.0f);  // a rate of 0 (cosine's end with alpha 0) leaves the weights
}

// ---- the settings table's options, read by the callbacks directly ----

TEST(CallbacksFromSettings, MinusOneIsOffAndTheTableRefusesOtherNegatives) {
  Settings s;
  EXPECT_FALSE(early_stopping_on(s) || plateau_on(s) || rate_changes(s));
  EXPECT_NO_THROW(check_settings(s));
  CallbackState state = initial_callback_state(s);
  const History flat = history_of(Monitor::val_loss, {1, 1, 1, 1, 1});
  const EpochDecision off = end_of_epoch(s, flat, state);
  EXPECT_FALSE(off.stop || off.lr_reduced || off.keep_weights);
  s.early_stopping = 0;
  EXPECT_TRUE(end_of_epoch(s, flat, state).keep_weights);  // on: the first epoch it sees is its best so far
  s.reduce_lr_on_plateau = 0;
  EXPECT_TRUE(rate_changes(s));
  s.early_stopping = -2;  // not -1: on, with a patience the check refuses
  EXPECT_THROW(check_settings(s), Error);
}

// A checkpoint older than the callbacks reads NaN where a fresh run's value depends on the options.
TEST(CallbackState, CompletedWhereAnOlderFileLeftNaN) {
  Settings c = stopping(2, 0, Monitor::val_accuracy);
  c.lr = 0.003;
  CallbackState s;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  s.base_lr = nan;
  s.early_stopping_best = nan;
  s.plateau_best = nan;
  s.early_stopping_wait = 1;
  complete_callback_state(s, c);
  EXPECT_EQ(s.base_lr, 0.003);
  EXPECT_EQ(s.early_stopping_best, -std::numeric_limits<double>::infinity());
  EXPECT_EQ(s.plateau_best, -std::numeric_limits<double>::infinity());  // the same --monitor
  EXPECT_EQ(s.early_stopping_wait, 1);
  c.lr = 0.5;
  CallbackState kept = initial_callback_state(c);
  kept.early_stopping_best = 0.7;
  c.lr = 0.003;
  complete_callback_state(kept, c);
  EXPECT_EQ(kept.base_lr, 0.5);
  EXPECT_EQ(kept.early_stopping_best, 0.7);
}

}  // namespace
}  // namespace fmnist
