// The callbacks' decisions on histories written out by hand against Keras 2's rules (tf_keras/callbacks.py),
// the schedules against their closed forms and against Keras's own formulas evaluated from the JSON we
// write, the state's round trip through its visitor, and Optimizer::set_lr.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <variant>

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
    h.add(0.5, 0.5, 0.5, 0.5, 1.0);
    std::vector<double>* column[] = {&h.loss, &h.accuracy, &h.val_loss, &h.val_accuracy};
    column[static_cast<int>(monitor)]->back() = v;
  }
  return h;
}

// Runs end_of_epoch after each epoch of `values`, as the trainer would, until a stop.
struct Trace {
  std::vector<EpochDecision> decisions;
  CallbackState state;
};
Trace run(const CallbackConfig& config, Monitor monitor, const std::vector<double>& values, double lr = 0.001) {
  Trace r{{}, initial_callback_state(config, lr)};
  History h;
  const History all = history_of(monitor, values);
  for (std::size_t e = 0; e < values.size(); ++e) {
    h.add(all.loss[e], all.accuracy[e], all.val_loss[e], all.val_accuracy[e], 1.0);
    r.decisions.push_back(end_of_epoch(config, h, r.state));
    if (r.decisions.back().stop) break;
  }
  return r;
}

CallbackConfig stopping(std::int64_t patience, double min_delta = 0, Monitor monitor = Monitor::val_loss) {
  CallbackConfig c;
  c.early_stopping = {true, monitor, min_delta, patience};
  return c;
}

CallbackConfig plateau(std::int64_t patience, std::int64_t cooldown = 0, double min_lr = 0,
                       Monitor monitor = Monitor::val_loss, double min_delta = 1e-4) {
  CallbackConfig c;
  c.plateau = {true, monitor, 0.1, patience, min_delta, cooldown, min_lr};
  return c;
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

TEST(Callbacks, BothRunTogetherOnTheirOwnMonitors) {
  CallbackConfig c = plateau(1, 0, 0, Monitor::loss);
  c.early_stopping = {true, Monitor::val_loss, 0, 2};
  History h;
  CallbackState s = initial_callback_state(c, 0.001);
  h.add(1.0, 0.5, 1.0, 0.5, 1);
  EXPECT_FALSE(end_of_epoch(c, h, s).lr_reduced);
  h.add(1.0, 0.5, 0.9, 0.5, 1);  // training loss flat: reduce; val_loss better
  EpochDecision d = end_of_epoch(c, h, s);
  EXPECT_TRUE(d.lr_reduced);
  EXPECT_EQ(d.best_epoch, 2);
  h.add(0.5, 0.5, 0.95, 0.5, 1);
  h.add(0.4, 0.5, 0.95, 0.5, 1);
  d = end_of_epoch(c, h, s);  // called once for two epochs: sees only the last
  EXPECT_FALSE(d.stop);
  h.add(0.3, 0.5, 0.95, 0.5, 1);
  d = end_of_epoch(c, h, s);
  EXPECT_TRUE(d.stop);
  EXPECT_EQ(s.early_stopping_stopped_epoch, 5);
  EXPECT_EQ(d.base_lr, keras_reduced(0.001));
  const EpochDecision off = end_of_epoch(CallbackConfig{}, h, s);
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

TEST(Callbacks, ConfigChecksNameTheOption) {
  const auto message = [](const CallbackConfig& c) {
    try {
      check_callback_config(c, 15);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Exit::usage);
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(message(CallbackConfig{}), "");
  CallbackConfig c;
  c.plateau.factor = 1.0;
  EXPECT_NE(message(c).find("--reduce-lr-factor"), std::string::npos);
  c = {};
  c.early_stopping.min_delta = -0.1;
  EXPECT_NE(message(c).find("--min-delta"), std::string::npos);
  c = {};
  c.plateau.min_lr = kNaN;
  EXPECT_NE(message(c).find("--min-lr"), std::string::npos);
  c = {};
  c.schedule.kind = ScheduleKind::cosine;
  c.schedule.warmup_epochs = 15;
  EXPECT_NE(message(c).find("--warmup-epochs"), std::string::npos);
  c.schedule.decay_epochs = 10;
  EXPECT_EQ(message(c), "");
  c.schedule.alpha = 1.5;
  EXPECT_NE(message(c).find("--lr-alpha"), std::string::npos);
  EXPECT_THROW(parse_monitor("val_acc", "monitor"), Error);
  EXPECT_EQ(parse_monitor("val_accuracy", "monitor"), Monitor::val_accuracy);
  EXPECT_EQ(parse_schedule_kind("step"), ScheduleKind::step);
  EXPECT_THROW(parse_schedule_kind("linear"), Error);
}

// ---- schedules ----

constexpr std::int64_t kSteps = 83;  // per epoch: ceil(42000 / 512)
constexpr ScheduleKind kAllKinds[] = {ScheduleKind::constant, ScheduleKind::cosine, ScheduleKind::exponential,
                                      ScheduleKind::step};

LrSchedule planned(ScheduleKind kind, std::int64_t warmup_epochs = 0, std::int64_t epochs = 15) {
  ScheduleConfig c;
  c.kind = kind;
  c.warmup_epochs = warmup_epochs;
  c.alpha = 0.1;
  return plan_schedule(c, kSteps, epochs);
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
  ScheduleConfig c;
  c.kind = ScheduleKind::exponential;
  c.decay_rate = 0.8;
  const LrSchedule s = plan_schedule(c, kSteps, 15);
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
      ASSERT_GT(scheduled_lr(s, 0.01, step), scheduled_lr(s, 0.01, step - 1)) << schedule_kind_name(kind) << step;
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
            << schedule_kind_name(kind) << " warmup " << warmup << " step " << step << ": " << k.dump();
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

using Field = std::variant<double, std::int64_t>;

std::map<std::string, Field> fields_of(const CallbackState& s) {
  std::map<std::string, Field> out;
  visit_callback_fields(s, [&](const char* name, const auto& value) {
    EXPECT_TRUE(out.emplace(name, Field(value)).second) << "duplicate field " << name;
  });
  return out;
}

TEST(CallbackState, RoundTripsThroughTheVisitor) {
  CallbackConfig c = plateau(1);
  c.early_stopping = {true, Monitor::val_accuracy, 0, 3};
  const Trace r = run(c, Monitor::val_loss, {1, 1, 1});
  const std::map<std::string, Field> saved = fields_of(r.state);
  // Every field is visited: the struct holds exactly these 8-byte fields.
  EXPECT_EQ(saved.size() * 8, sizeof(CallbackState));
  CallbackState restored = initial_callback_state(CallbackConfig{}, 0.5);
  visit_callback_fields(restored, [&](const char* name, auto& field) {
    field = std::get<std::remove_reference_t<decltype(field)>>(saved.at(name));
  });
  EXPECT_EQ(fields_of(restored), saved);
  EXPECT_EQ(restored.base_lr, keras_reduced(keras_reduced(0.001)));  // epochs 2 and 3
  EXPECT_EQ(restored.early_stopping_best_epoch, 1);
  EXPECT_EQ(restored.plateau_best, 1.0);
  EXPECT_EQ(restored.early_stopping_best, 0.5);  // val_accuracy of history_of's filler
  // A restored state decides as the original would.
  History h = history_of(Monitor::val_loss, {1, 1, 1, 1});
  CallbackState a = r.state, b = restored;
  const EpochDecision da = end_of_epoch(c, h, a), db = end_of_epoch(c, h, b);
  EXPECT_EQ(da.base_lr, db.base_lr);
  EXPECT_EQ(da.stop, db.stop);
  EXPECT_EQ(fields_of(a), fields_of(b));
}

TEST(CallbackState, StartsAtKerasInfinities) {
  CallbackConfig c;
  c.plateau.monitor = Monitor::accuracy;
  const CallbackState s = initial_callback_state(c, 0.002);
  EXPECT_EQ(s.base_lr, 0.002);
  EXPECT_EQ(s.early_stopping_best, std::numeric_limits<double>::infinity());
  EXPECT_EQ(s.plateau_best, -std::numeric_limits<double>::infinity());
  EXPECT_EQ(s.early_stopping_best_epoch + s.early_stopping_wait + s.early_stopping_stopped_epoch + s.plateau_wait + s.plateau_cooldown, 0);
}

// ---- Optimizer::set_lr ----

TEST(OptimizerLr, SetLrGivesTheBytesOfAnOptimizerMadeWithThatRate) {
  const double rate = scheduled_lr(planned(ScheduleKind::cosine), 0.001, 777);
  const float g[3] = {0.5f, -0.1f, 0.25f};
  for (const char* name : {"rmsprop", "adam", "sgd"}) {
    OptimizerConfig c;
    c.name = name;
    auto unchanged = make_optimizer(c, 3), changed = make_optimizer(c, 3);
    EXPECT_EQ(changed->lr(), 0.001);
    changed->set_lr(rate);
    EXPECT_EQ(changed->lr(), rate);
    c.lr = rate;
    auto made = make_optimizer(c, 3);
    float a[3] = {1.0f, -2.0f, 0.5f}, b[3] = {1.0f, -2.0f, 0.5f}, u[3] = {1.0f, -2.0f, 0.5f};
    for (int step = 0; step < 3; ++step) {
      made->step(a, g);
      changed->step(b, g);
      unchanged->step(u, g);
    }
    EXPECT_EQ(std::memcmp(a, b, sizeof a), 0) << name;
    EXPECT_NE(std::memcmp(a, u, sizeof a), 0) << name;  // the rate did change the update
  }
}

TEST(OptimizerLr, RejectsNegativeOrNonFiniteRates) {
  auto opt = make_optimizer(OptimizerConfig{}, 1);
  EXPECT_THROW(opt->set_lr(-1e-3), Error);
  EXPECT_THROW(opt->set_lr(kNaN), Error);
  EXPECT_THROW(opt->set_lr(std::numeric_limits<double>::infinity()), Error);
  opt->set_lr(0);
  float w = 1.0f;
  const float g = 1.0f;
  opt->step(&w, &g);
  EXPECT_EQ(w, 1.0f);  // a rate of 0 (cosine's end with alpha 0) leaves the weights
}

// ---- the settings table's options as the callbacks' configuration ----

TEST(CallbackConfigFromSettings, MinusOneIsOffAndEveryOptionLandsInItsField) {
  Settings s;
  const CallbackConfig off = callback_config(s);
  EXPECT_FALSE(off.early_stopping.enabled);
  EXPECT_FALSE(off.plateau.enabled);
  EXPECT_EQ(off.schedule.kind, ScheduleKind::constant);
  EXPECT_NO_THROW(check_callback_config(off, s.epochs));
  s.early_stopping = 0;
  s.monitor = Monitor::val_accuracy;
  s.min_delta = 0.01;
  s.reduce_lr_on_plateau = 3;
  s.reduce_lr_factor = 0.5;
  s.reduce_lr_min_delta = 0.02;
  s.cooldown = 2;
  s.min_lr = 1e-5;
  s.lr_schedule = ScheduleKind::step;
  s.warmup_epochs = 1;
  s.lr_decay_epochs = 4;
  s.lr_decay_rate = 0.8;
  s.lr_step_epochs = 6;
  s.lr_step_factor = 0.25;
  s.lr_alpha = 0.1;
  const CallbackConfig c = callback_config(s);
  EXPECT_TRUE(c.early_stopping.enabled);
  EXPECT_EQ(c.early_stopping.patience, 0);
  EXPECT_EQ(c.early_stopping.monitor, Monitor::val_accuracy);
  EXPECT_EQ(c.early_stopping.min_delta, 0.01);
  EXPECT_TRUE(c.plateau.enabled);
  EXPECT_EQ(c.plateau.patience, 3);
  EXPECT_EQ(c.plateau.monitor, Monitor::val_accuracy);
  EXPECT_EQ(c.plateau.factor, 0.5);
  EXPECT_EQ(c.plateau.min_delta, 0.02);
  EXPECT_EQ(c.plateau.cooldown, 2);
  EXPECT_EQ(c.plateau.min_lr, 1e-5);
  EXPECT_EQ(c.schedule.kind, ScheduleKind::step);
  EXPECT_EQ(c.schedule.warmup_epochs, 1);
  EXPECT_EQ(c.schedule.decay_epochs, 4);
  EXPECT_EQ(c.schedule.decay_rate, 0.8);
  EXPECT_EQ(c.schedule.step_epochs, 6);
  EXPECT_EQ(c.schedule.step_factor, 0.25);
  EXPECT_EQ(c.schedule.alpha, 0.1);
  s.early_stopping = -2;  // not -1: on, with a patience the check refuses
  EXPECT_THROW(check_callback_config(callback_config(s), s.epochs), Error);
}

// A checkpoint older than the callbacks reads NaN where a fresh run's value depends on the options.
TEST(CallbackState, CompletedWhereAnOlderFileLeftNaN) {
  CallbackConfig c;
  c.early_stopping = {true, Monitor::val_accuracy, 0, 2};
  CallbackState s;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  s.base_lr = nan;
  s.early_stopping_best = nan;
  s.plateau_best = nan;
  s.early_stopping_wait = 1;
  complete_callback_state(s, c, 0.003);
  EXPECT_EQ(s.base_lr, 0.003);
  EXPECT_EQ(s.early_stopping_best, -std::numeric_limits<double>::infinity());
  EXPECT_EQ(s.plateau_best, std::numeric_limits<double>::infinity());
  EXPECT_EQ(s.early_stopping_wait, 1);
  CallbackState kept = initial_callback_state(c, 0.5);
  kept.early_stopping_best = 0.7;
  complete_callback_state(kept, c, 0.003);
  EXPECT_EQ(kept.base_lr, 0.5);
  EXPECT_EQ(kept.early_stopping_best, 0.7);
}

}  // namespace
}  // namespace fmnist
