// The settings table: every value reads back from its own text, choices name their alternatives,
// option names follow the keys, the table's columns are consistent with one another, and each entry's
// check takes its default and refuses what lies outside, in the one message form.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>
#include <type_traits>

#include "expect_error.hpp"
#include "fmnist/error.hpp"
#include "fmnist/settings.hpp"
#include "fmnist/text.hpp"

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
  EXPECT_EQ(*from_text("adagrad", o), "must be rmsprop, adam, sgd or adamw, got 'adagrad'");
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

// Each check from the table: the default passes; the nearest value past each bound that is not
// infinite, and NaN, fail with "--option: <must>, got <value> (see --help)"; flags and choices have none.
TEST(Settings, EveryEntrysCheckTakesItsDefaultAndRefusesWhatLiesOutside) {
  const Settings defaults;
  EXPECT_NO_THROW(check_settings(defaults));
  int checked = 0;
  visit_settings(defaults, [&](const SettingInfo& info, const auto& value) {
    using T = std::decay_t<decltype(value)>;
    const Check& c = info.check;
    if constexpr (std::is_same_v<T, bool> || Choice<T>) {
      EXPECT_EQ(c.must, nullptr) << info.key << ": from_text admits only its values";
    } else {
      EXPECT_FALSE(check_problem(c, value)) << info.key << ": its default";
      if (c.must == nullptr) return;
      ++checked;
      const auto refuse = [&](double outside) {
        const auto problem = check_problem(c, outside, number_text(outside));
        ASSERT_TRUE(problem) << info.key << " " << outside;
        EXPECT_EQ(*problem, std::string(c.must) + ", got " + number_text(outside));
      };
      const bool integral = std::is_integral_v<T> || std::is_same_v<T, std::string>;
      if (std::isfinite(c.min)) refuse(c.min_open ? c.min : (integral ? c.min - 1 : std::nextafter(c.min, -1e300)));
      if (std::isfinite(c.max)) refuse(c.max_open ? c.max : (integral ? c.max + 1 : std::nextafter(c.max, 1e300)));
      if (c.max_open && std::isinf(c.max)) refuse(c.max);  // "finite"
      refuse(std::numeric_limits<double>::quiet_NaN());
    }
  });
  EXPECT_GE(checked, 20);
  Settings s;
  s.epochs = 0;
  EXPECT_EQ(test::expect_error(Exit::usage, [&] { check_settings(s); }),
            "--epochs: must be a positive integer, got 0 (see --help)");
  s = {};
  s.out_dir = "";
  EXPECT_EQ(test::expect_error(Exit::usage, [&] { check_settings(s); }), "--out-dir: must not be empty, got '' (see --help)");
}

// The combinations no one entry can check, each naming the option to change.
TEST(Settings, CrossChecksNameTheOptionToChange) {
  Settings s;
  s.batch_size = 1025;
  s.micro_batch = 1;
  EXPECT_TRUE(test::contains(test::expect_error(Exit::usage, [&] { check_settings(s); }),
                             "--micro-batch: --batch-size 1025 with --micro-batch 1 makes 1025 micro-batches"));
  s.micro_batch = 2;
  EXPECT_NO_THROW(check_settings(s));
  s.test_csv = "t.csv";
  EXPECT_TRUE(test::contains(test::expect_error(Exit::usage, [&] { check_settings(s); }), "--test-csv: needs --train-csv"));
  s.train_csv = "x.csv";
  EXPECT_NO_THROW(check_settings(s));
}

TEST(Settings, SetSettingReadsAndChecksOneValue) {
  Settings s;
  EXPECT_FALSE(set_setting(s, "stall_timeout", "7.5"));
  EXPECT_EQ(s.stall_timeout, 7.5);
  EXPECT_EQ(*set_setting(s, "stall_timeout", "-1"), "must be 0 (off) or a number of seconds up to 86400, got -1");
  EXPECT_EQ(*set_setting(s, "stall_timeout", "soon"), "'soon' is not a valid number");
  EXPECT_EQ(s.stall_timeout, 7.5);  // unchanged by the refusals
  EXPECT_TRUE(set_setting(s, "no_such_setting", "1"));
  EXPECT_FALSE(set_setting(s, "optimizer", "adam"));
  EXPECT_EQ(s.optimizer, OptimizerKind::adam);
}

}  // namespace
}  // namespace fmnist
