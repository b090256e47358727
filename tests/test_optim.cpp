// Optimizer steps against values computed by hand from Keras's update rules; the optimizer reads its
// kind, rate, momentum and RMSprop's form from the settings table (settings.hpp).
#include <gtest/gtest.h>

#include <cmath>

#include "fmnist/error.hpp"
#include "fmnist/optimizer.hpp"
#include "expect_error.hpp"

namespace fmnist {
namespace {

using test::expect_error;

TEST(RmsProp, OneStepMatchesHandComputedKeras3Update) {
  Settings c;  // lr 1e-3; rho 0.9, eps 1e-7 (OptimizerConstants)
  c.rmsprop_form = RmspropForm::keras3;
  auto opt = make_optimizer(c, 3);
  float w[3] = {1.0f, -2.0f, 0.5f};
  const float g[3] = {0.5f, -0.1f, 0.0f};
  opt->step(w, g);
  // v = 0.1 * g^2; w -= 1e-3 * g / sqrt(v + 1e-7)
  const double v0 = 0.1 * 0.25, v1 = 0.1 * 0.01;
  EXPECT_NEAR(w[0], 1.0 - 1e-3 * 0.5 / std::sqrt(v0 + 1e-7), 1e-7);
  EXPECT_NEAR(w[1], -2.0 + 1e-3 * 0.1 / std::sqrt(v1 + 1e-7), 1e-7);
  EXPECT_EQ(w[2], 0.5f);
  EXPECT_NEAR(opt->state().slots[0].data[0], v0, 1e-8);
  EXPECT_EQ(opt->state().iterations, 1);
  // Second step: v = 0.9 v + 0.1 g^2.
  opt->step(w, g);
  const double v0b = 0.9 * v0 + 0.1 * 0.25;
  EXPECT_NEAR(w[0], 1.0 - 1e-3 * 0.5 / std::sqrt(v0 + 1e-7) - 1e-3 * 0.5 / std::sqrt(v0b + 1e-7), 2e-7);
}

TEST(RmsProp, TheDefaultKeras2FormPutsEpsilonOutsideTheSqrt) {
  Settings c;
  EXPECT_EQ(c.rmsprop_form, RmspropForm::keras2);
  OptimizerConstants k;
  k.epsilon = 0.1;  // large, so the two forms differ clearly
  auto opt = make_optimizer(c, 1, k);
  float w = 0.0f;
  const float g = 1.0f;
  opt->step(&w, &g);
  EXPECT_NEAR(w, -1e-3 / (std::sqrt(0.1) + 0.1), 1e-8);
  c.rmsprop_form = RmspropForm::keras3;
  auto inside = make_optimizer(c, 1, k);
  w = 0.0f;
  inside->step(&w, &g);
  EXPECT_NEAR(w, -1e-3 / std::sqrt(0.1 + 0.1), 1e-8);
}

TEST(RmsProp, KerasConfigNamesItsHyperParameters) {
  Settings c;
  c.lr = 0.002;
  const KerasOptimizerConfig k = keras_optimizer_config(c);
  EXPECT_EQ(k.class_name, "RMSprop");
  using Values = std::vector<std::pair<std::string, double>>;
  EXPECT_EQ(k.values, (Values{{"learning_rate", 0.002}, {"rho", 0.9}, {"momentum", 0.0}, {"epsilon", 1e-7}}));
  EXPECT_EQ(k.flags, (std::vector<std::pair<std::string, bool>>{{"centered", false}}));
  c.optimizer = OptimizerKind::adam;
  EXPECT_EQ(keras_optimizer_config(c).class_name, "Adam");
  c.optimizer = OptimizerKind::sgd;
  EXPECT_EQ(keras_optimizer_config(c).values, (Values{{"learning_rate", 0.002}, {"momentum", 0.9}}));
  EXPECT_EQ(to_text(RmspropForm::keras3), "keras3");
}

TEST(Adam, FirstStepIsLrTimesSign) {
  Settings c;
  c.optimizer = OptimizerKind::adam;
  auto opt = make_optimizer(c, 2);
  float w[2] = {0.0f, 0.0f};
  const float g[2] = {0.3f, -4.0f};
  opt->step(w, g);
  // t = 1: alpha = lr * sqrt(1 - b2) / (1 - b1); m = 0.1 g; sqrt(v) = sqrt(0.001) |g|
  const double alpha = 1e-3 * std::sqrt(0.001) / 0.1;
  EXPECT_NEAR(w[0], -alpha * 0.1 * 0.3 / (std::sqrt(0.001) * 0.3 + 1e-7), 1e-8);
  EXPECT_NEAR(w[1], alpha * 0.1 * 4.0 / (std::sqrt(0.001) * 4.0 + 1e-7), 1e-8);
}

TEST(Sgd, MomentumAccumulates) {
  Settings c;
  c.optimizer = OptimizerKind::sgd;
  c.lr = 0.1;
  c.momentum = 0.9;
  auto opt = make_optimizer(c, 1);
  float w = 1.0f;
  const float g = 1.0f;
  opt->step(&w, &g);
  EXPECT_FLOAT_EQ(w, 0.9f);
  opt->step(&w, &g);  // m = 0.9 * -0.1 - 0.1 = -0.19
  EXPECT_FLOAT_EQ(w, 0.71f);
}

TEST(Optimizer, RestoreRefusesAnotherOptimizer) {
  Settings c;
  auto rms = make_optimizer(c, 4);
  c.optimizer = OptimizerKind::adam;
  auto adam = make_optimizer(c, 4);
  EXPECT_TRUE(test::contains(expect_error(Exit::checkpoint, [&] { rms->restore(adam->state()); }), "adam"));
}

TEST(Optimizer, RestoreThenStepContinuesExactly) {
  Settings c;
  auto a = make_optimizer(c, 2), b = make_optimizer(c, 2);
  float wa[2] = {1, 2}, wb[2];
  const float g[2] = {0.25f, -0.75f};
  a->step(wa, g);
  b->restore(a->state());
  std::copy(wa, wa + 2, wb);
  a->step(wa, g);
  b->step(wb, g);
  EXPECT_EQ(wa[0], wb[0]);
  EXPECT_EQ(wa[1], wb[1]);
  EXPECT_EQ(b->state().iterations, 2);
}

// The checkpoint's /optimizer name is the kind's text (EnumNames), the one the state carries.
TEST(Optimizer, StateNamesItsKind) {
  Settings c;
  for (const OptimizerKind kind : {OptimizerKind::rmsprop, OptimizerKind::adam, OptimizerKind::sgd, OptimizerKind::adamw}) {
    c.optimizer = kind;
    EXPECT_EQ(make_optimizer(c, 1)->state().kind, kind);
  }
  EXPECT_EQ(to_text(OptimizerKind::sgd), "sgd");
  EXPECT_EQ(to_text(OptimizerKind::adamw), "adamw");
}

// ---- Weight decay (Keras 3's base_optimizer.py _apply_weight_decay) -------------------------------

// Every optimizer, its weight decay by hand: one step with --weight-decay W from w is the step without
// decay from w - w * W * lr (float32, Keras's order), on the decayed ranges only; the rest untouched.
TEST(WeightDecay, BeforeTheUpdateOnTheTrainableRangesForEveryOptimizer) {
  std::vector<Settings> configs(5);
  configs[1].rmsprop_form = RmspropForm::keras3;
  configs[2].optimizer = OptimizerKind::adam;
  configs[3].optimizer = OptimizerKind::sgd;
  configs[4].optimizer = OptimizerKind::adamw;
  for (Settings c : configs) {
    SCOPED_TRACE(to_text(c.optimizer) + " " + to_text(c.rmsprop_form));
    c.lr = 0.05;
    const float wd = 0.1f, lr = 0.05f;
    const std::vector<float> start = {0.5f, -2.0f, 3.0f, 1.25f, -0.75f};
    const float g[5] = {0.25f, -0.5f, 0.0f, 1.0f, 0.125f};
    const std::vector<ParamRange> trainable = {{0, 2}, {3, 5}};  // entry 2 is a moving statistic
    std::vector<float> by_hand = start;
    for (std::size_t i : {0u, 1u, 3u, 4u}) by_hand[i] = by_hand[i] - by_hand[i] * wd * lr;
    c.weight_decay = 0;
    make_optimizer(c, 5)->step(by_hand.data(), g);
    c.weight_decay = 0.1;
    std::vector<float> w = start;
    make_optimizer(c, 5, {}, trainable)->step(w.data(), g);
    for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(w[i], by_hand[i]) << i;
    EXPECT_EQ(w[2], 3.0f);  // not trainable: not decayed
    // Negative control: without the decay the weights differ.
    std::vector<float> plain = start;
    c.weight_decay = 0;
    make_optimizer(c, 5, {}, trainable)->step(plain.data(), g);
    EXPECT_NE(plain[0], w[0]);
  }
}

TEST(WeightDecay, SgdWithoutMomentumByHand) {
  Settings c;
  c.optimizer = OptimizerKind::sgd;
  c.momentum = 0;
  c.lr = 0.5;
  c.weight_decay = 0.2;
  auto opt = make_optimizer(c, 1);
  float w = 2.0f;
  const float g = 1.0f;
  opt->step(&w, &g);
  EXPECT_FLOAT_EQ(w, 2.0f - 2.0f * 0.2f * 0.5f - 0.5f * 1.0f);  // 1.3
  opt->set_lr(0.25);  // the decay takes the step's rate
  opt->step(&w, &g);
  EXPECT_FLOAT_EQ(w, 1.3f - 1.3f * 0.2f * 0.25f - 0.25f);
}

// Keras 3's AdamW by hand: the decay with its default 0.004 (parse_config sets it when --weight-decay is
// not given; here set as it would be), then Adam's first step, lr * sign(g) nearly.
TEST(WeightDecay, AdamwFirstStepByHand) {
  Settings c;
  c.optimizer = OptimizerKind::adamw;
  c.weight_decay = kAdamwWeightDecay;
  c.lr = 0.01;
  auto opt = make_optimizer(c, 2);
  float w[2] = {1.5f, -0.5f};
  const float g[2] = {0.2f, -3.0f};
  opt->step(w, g);
  const double alpha = 0.01 * std::sqrt(0.001) / 0.1;
  const double decayed0 = 1.5 - 1.5 * 0.004 * 0.01, decayed1 = -0.5 + 0.5 * 0.004 * 0.01;
  EXPECT_NEAR(w[0], decayed0 - alpha * 0.1 * 0.2 / (std::sqrt(0.001) * 0.2 + 1e-7), 1e-7);
  EXPECT_NEAR(w[1], decayed1 + alpha * 0.1 * 3.0 / (std::sqrt(0.001) * 3.0 + 1e-7), 1e-7);
  EXPECT_GT(std::abs(decayed0 - 1.5), 1e-5);  // the decay is larger than the tolerance: the check sees it
  EXPECT_EQ(opt->state().kind, OptimizerKind::adamw);
  EXPECT_EQ(opt->state().slots.size(), 2u);  // Adam's momentum and velocity
}

TEST(WeightDecay, KerasConfigsNameIt) {
  Settings c;
  c.optimizer = OptimizerKind::adamw;
  c.weight_decay = 0.004;
  const KerasOptimizerConfig k = keras_optimizer_config(c);
  EXPECT_EQ(k.class_name, "AdamW");
  EXPECT_EQ(k.values.back(), (std::pair<std::string, double>{"weight_decay", 0.004}));
  c.optimizer = OptimizerKind::sgd;
  c.weight_decay = 0;
  EXPECT_EQ(keras_optimizer_config(c).values.back().first, "momentum");  // no decay: Keras 2's keys only
  c.weight_decay = 0.01;
  EXPECT_EQ(keras_optimizer_config(c).values.back(), (std::pair<std::string, double>{"weight_decay", 0.01}));
}

}  // namespace
}  // namespace fmnist
