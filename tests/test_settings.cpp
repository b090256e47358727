// The settings table: every value reads back from its own text, choices name their alternatives,
// option names follow the keys, and the table's columns are consistent with one another.
#include <gtest/gtest.h>

#include <limits>
#include <set>

#include "fmnist/settings.hpp"

namespace fmnist {
namespace {

template <typename T>
T round_trip(const T& value) {
  T back{};
  const auto problem = from_text(to_text(value), back);
  EXPECT_FALSE(problem) << *problem;
  return back;
}

TEST(Settings, EveryValueReadsBackFromItsText) {
  EXPECT_EQ(round_trip(0.001), 0.001);
  EXPECT_EQ(round_trip(0.1 + 0.2), 0.1 + 0.2);  // shortest text, still exact
  EXPECT_EQ(to_text(0.001), "0.001");
  EXPECT_EQ(to_text(60.0), "60");
  EXPECT_EQ(round_trip(std::numeric_limits<std::uint64_t>::max()), std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(round_trip(std::uint32_t{4000000000u}), 4000000000u);
  EXPECT_EQ(round_trip(std::int64_t{-5}), -5);
  EXPECT_EQ(round_trip(true), true);
  EXPECT_EQ(round_trip(RmspropForm::keras3), RmspropForm::keras3);
  EXPECT_EQ(round_trip(EvalRanks::all), EvalRanks::all);
  EXPECT_EQ(to_text(EvalRanks::root), "0");
  EXPECT_EQ(to_text(Progress::automatic), "auto");
}

TEST(Settings, BadTextSaysWhatIsWrong) {
  int i = 7;
  EXPECT_EQ(*from_text("12x", i), "'12x' is not a valid integer");
  EXPECT_EQ(i, 7);
  std::uint64_t u = 0;
  EXPECT_TRUE(from_text("-1", u));
  double d = 0;
  EXPECT_EQ(*from_text("0.0x1", d), "'0.0x1' is not a valid number");
  OptimizerKind o = OptimizerKind::rmsprop;
  EXPECT_EQ(*from_text("adagrad", o), "must be rmsprop, adam or sgd, got 'adagrad'");
  RmspropForm f = RmspropForm::keras2;
  EXPECT_EQ(*from_text("keras1", f), "must be keras2 or keras3, got 'keras1'");
}

TEST(Settings, TheTableIsConsistent) {
  const Settings defaults;
  std::set<std::string> keys;
  visit_settings(defaults, [&](const SettingInfo& info, const auto& value) {
    EXPECT_TRUE(keys.insert(info.key).second) << info.key << " twice";
    EXPECT_NE(info.group, Group::state) << info.key;
    EXPECT_NE(std::string(info.help), "") << info.key;
    EXPECT_NE(info.checkpoint, Ckpt::restore) << info.key << ": options are never restored from a checkpoint";
    if (info.older != nullptr) {
      auto copy = value;
      EXPECT_FALSE(from_text(info.older, copy)) << info.key << ": its implied value must read";
      EXPECT_NE(info.checkpoint, Ckpt::none) << info.key;
    }
    // Whatever a checkpoint records must be the same on every rank.
    if (info.checkpoint != Ckpt::none) {
      EXPECT_EQ(info.ranks, Ranks::agree) << info.key;
    }
  });
  EXPECT_TRUE(keys.count("batch_size"));
  EXPECT_FALSE(keys.count("fail_at"));  // a test hook, not an option (FMNIST_TEST_FAIL_AT)
  EXPECT_EQ(option_name(SettingInfo{.key = "split_seed"}), "split-seed");
}

}  // namespace
}  // namespace fmnist
