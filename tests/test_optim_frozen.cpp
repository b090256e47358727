// Non-trainable weights (BatchNormalization's moving statistics) live in the parameter arena and
// always have a zero gradient: every optimizer must leave them bit for bit as they are, while it
// moves the trainable ones beside them (a -0.0 only keeps its value under SGD, not its sign).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "fmnist/optimizer.hpp"

namespace fmnist {
namespace {

TEST(OptimizerFrozen, ZeroGradientLeavesTheBytes) {
  std::vector<Settings> configs(5);
  configs[1].rmsprop_form = RmspropForm::keras3;
  configs[2].optimizer = OptimizerKind::adam;
  configs[3].optimizer = OptimizerKind::sgd;
  configs[4].optimizer = OptimizerKind::sgd;
  configs[4].momentum = 0;
  for (const Settings& c : configs) {
    SCOPED_TRACE(to_text(c.optimizer) + " " + to_text(c.rmsprop_form));
    const std::vector<float> start = {0.25f, 1.0f, -3.5f, 1e-30f, 0.0f, -0.0f, 7.0f, 0.999f};
    std::vector<float> w = start;
    auto opt = make_optimizer(c, w.size());
    for (int s = 0; s < 20; ++s) {
      std::vector<float> g(w.size(), 0.0f);
      g[0] = 0.5f * float(s % 3) - 0.4f;  // entries 0 and 6 train; the rest are frozen
      g[6] = -0.01f;
      opt->step(w.data(), g.data());
    }
    for (std::size_t i = 1; i < 5; ++i) EXPECT_EQ(std::memcmp(&w[i], &start[i], sizeof(float)), 0) << i << ": " << w[i];
    // -0.0 keeps its value; SGD's w += m turns it into +0.0 (a moving statistic starts at +0 or 1).
    EXPECT_EQ(w[5], 0.0f);
    if (c.optimizer != OptimizerKind::sgd) {
      EXPECT_TRUE(std::signbit(w[5]));
    }
    EXPECT_EQ(std::memcmp(&w[7], &start[7], sizeof(float)), 0);
    EXPECT_NE(w[0], start[0]);
    EXPECT_NE(w[6], start[6]);
  }
}

}  // namespace
}  // namespace fmnist
