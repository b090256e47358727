// Command-line parsing and validation: defaults, every option of the settings table, and each bad value
// named.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <type_traits>
#include <vector>

#include "fmnist/config.hpp"
#include "fmnist/error.hpp"
#include "expect_error.hpp"

namespace fmnist {
namespace {

using test::expect_error;

Config parse(std::vector<const char*> args) {
  args.insert(args.begin(), "fmnist_dist");
  return parse_config(static_cast<int>(args.size()), args.data());
}

// Parsing must fail with exit code 2 and a message that contains `names`.
void expect_usage_error(std::vector<const char*> args, const std::string& names) {
  const std::string message = expect_error(Exit::usage, [&] { parse(args); });
  EXPECT_NE(message.find(names), std::string::npos) << "expected an error naming " << names << ", got: " << message;
}

TEST(Config, DefaultsAreTheTutorials) {
  const Config c = parse({});
  EXPECT_EQ(c.epochs, 15);
  EXPECT_EQ(c.batch_size, 512);
  EXPECT_DOUBLE_EQ(c.val_split, 0.3);
  EXPECT_EQ(c.split_seed, 42u);
  EXPECT_EQ(c.optimizer, OptimizerKind::rmsprop);
  EXPECT_DOUBLE_EQ(c.lr, 0.001);
  EXPECT_EQ(c.out_dir, "run");
  EXPECT_EQ(c.data_dir, "/usr/share/datasets/fashion-mnist");
  EXPECT_TRUE(c.resume.empty());
  EXPECT_EQ(c.eval_ranks, EvalRanks::root);
  EXPECT_TRUE(c.model.empty());  // the tutorial's model
  EXPECT_FALSE(c.print_model);
  EXPECT_EQ(c.rmsprop_form, RmspropForm::keras2);  // the tutorial's RMSprop: epsilon outside the square root
}

TEST(Config, WeightDecayLabelSmoothingAndAdamw) {
  const Config plain = parse({});
  EXPECT_EQ(plain.weight_decay, 0.0);
  EXPECT_EQ(plain.label_smoothing, 0.0);
  const Config c = parse({"--weight-decay", "0.01", "--label-smoothing", "0.1", "--optimizer", "sgd"});
  EXPECT_EQ(c.weight_decay, 0.01);
  EXPECT_EQ(c.label_smoothing, 0.1);
  EXPECT_EQ(parse({"--optimizer", "adamw"}).weight_decay, kAdamwWeightDecay);  // Keras 3's AdamW default
  EXPECT_EQ(parse({"--optimizer", "adamw", "--weight-decay", "0"}).weight_decay, 0.0);
  EXPECT_EQ(parse({"--optimizer", "adamw", "--weight-decay", "0.5"}).weight_decay, 0.5);
  EXPECT_EQ(parse({"--optimizer", "adam"}).weight_decay, 0.0);
  expect_usage_error({"--weight-decay", "-0.001"}, "--weight-decay: must be a finite number >= 0, got -0.001");
  expect_usage_error({"--weight-decay", "inf"}, "--weight-decay");
  expect_usage_error({"--label-smoothing", "1"}, "--label-smoothing: must lie in [0, 1), got 1");
  expect_usage_error({"--label-smoothing", "-0.1"}, "--label-smoothing");
  EXPECT_NE(describe(plain), describe(c));  // the ranks must agree on both
}

TEST(Config, ModelAndRmspropForm) {
  const Config c = parse({"--model", "my.json", "--print-model", "--rmsprop-form", "keras3"});
  EXPECT_EQ(c.model, "my.json");
  EXPECT_TRUE(c.print_model);
  EXPECT_EQ(c.rmsprop_form, RmspropForm::keras3);
  EXPECT_EQ(parse({"--rmsprop-keras2"}).rmsprop_form, RmspropForm::keras2);  // the former option, now the default
  expect_usage_error({"--rmsprop-form", "keras1"}, "--rmsprop-form");
  expect_usage_error({"--rmsprop-keras2", "--rmsprop-form", "keras3"}, "--rmsprop-keras2");
  EXPECT_NE(describe(parse({})), describe(parse({"--rmsprop-form", "keras3"})));
}

TEST(Config, ParsesEveryOption) {
  const Config c = parse({"--epochs", "3", "--batch-size", "64", "--val-split", "0.25", "--split-seed", "7",
                          "--optimizer", "adam", "--lr", "0.01", "--seed", "9", "--out-dir", "x",
                          "--checkpoint-every", "5", "--max-steps", "11", "--eval-ranks", "all", "--resume"});
  EXPECT_EQ(c.epochs, 3);
  EXPECT_EQ(c.batch_size, 64);
  EXPECT_DOUBLE_EQ(c.val_split, 0.25);
  EXPECT_EQ(c.split_seed, 7u);
  EXPECT_EQ(c.optimizer, OptimizerKind::adam);
  EXPECT_DOUBLE_EQ(c.lr, 0.01);
  EXPECT_EQ(c.seed, 9u);
  EXPECT_EQ(c.out_dir, "x");
  EXPECT_EQ(c.checkpoint_every, 5);
  EXPECT_EQ(c.max_steps, 11);
  EXPECT_EQ(c.eval_ranks, EvalRanks::all);
  EXPECT_EQ(c.resume, "auto");
  EXPECT_EQ(parse({"--resume", "a.h5"}).resume, "a.h5");
}

// Another valid value than the default for a setting: the next choice, the flag set, text, or the first
// of a few numbers near the default that passes the entry's check.
template <typename T>
T another_value(const SettingInfo& info, const T& value) {
  if constexpr (std::is_same_v<T, bool>) {
    return !value;
  } else if constexpr (Choice<T>) {
    return static_cast<T>((static_cast<std::size_t>(value) + 1) % EnumNames<T>::names.size());
  } else if constexpr (std::is_same_v<T, std::string>) {
    return value + "x";
  } else {
    for (const T candidate : {static_cast<T>(value + 1), static_cast<T>(value / 2), static_cast<T>(value * 2),
                              static_cast<T>(value + 0.5)})
      if (candidate != value && !check_problem(info.check, candidate)) return candidate;
    ADD_FAILURE() << info.key << ": no other valid value near " << to_text(value);
    return value;
  }
}

// Every entry of the table is an option whose text lands in its field; nothing else changes.
TEST(Config, EveryOptionOfTheTableLandsInItsField) {
  Settings expected;
  std::vector<std::string> words;
  visit_settings(expected, [&](const SettingInfo& info, auto& field) {
    field = another_value(info, field);
    words.push_back("--" + option_name(info));
    if constexpr (!std::is_same_v<std::decay_t<decltype(field)>, bool>) words.push_back(to_text(field));
  });
  ASSERT_NO_THROW(check_settings(expected));
  std::vector<const char*> args;
  for (const std::string& w : words) args.push_back(w.c_str());
  const Config parsed = parse(args);
  std::vector<std::string> want, got;
  const auto key_value = [](const SettingInfo& info, const auto& v) {
    std::string text = info.key;
    text += '=';
    text += to_text(v);
    return text;
  };
  visit_settings(expected, [&](const SettingInfo& info, const auto& v) { want.push_back(key_value(info, v)); });
  visit_settings(parsed, [&](const SettingInfo& info, const auto& v) { got.push_back(key_value(info, v)); });
  EXPECT_EQ(got, want);
  const Config defaults = parse({});
  visit_settings(defaults, [&](const SettingInfo& info, const auto& v) {  // the control: every field moved
    EXPECT_EQ(std::find(want.begin(), want.end(), key_value(info, v)), want.end()) << info.key;
  });
}

TEST(Config, HelpListsEveryOptionWithDefaults) {
  const Config c = parse({"--help"});
  EXPECT_TRUE(c.help);
  // Every setting of the table is an option, at the start of a line of its section.
  std::vector<std::string> expected = {"(default: 512)", "(default: 15)", "(default: keras2)"};
  const Settings defaults;
  visit_settings(defaults, [&](const SettingInfo& info, const auto&) {
    expected.push_back("\n      --" + option_name(info) + " ");
  });
  EXPECT_GT(expected.size(), 30u);
  for (const std::string& text : expected) EXPECT_NE(c.help_text.find(text), std::string::npos) << text;
  EXPECT_EQ(c.help_text.find("\n      --fail-at "), std::string::npos);  // not an option: the check can fail
}

TEST(Config, VersionIsAFlagBesideHelp) {
  const Config c = parse({"--version"});
  EXPECT_TRUE(c.version);
  EXPECT_FALSE(c.help);
  EXPECT_FALSE(parse({}).version);
  EXPECT_NE(parse({"--help"}).help_text.find("--version"), std::string::npos);
}

TEST(Config, BadValuesNameTheOption) {
  expect_usage_error({"--bogus"}, "bogus");
  expect_usage_error({"--epochs", "ten"}, "--epochs");
  expect_usage_error({"--epochs", "0"}, "--epochs");
  expect_usage_error({"--epochs", "-3"}, "--epochs");
  expect_usage_error({"--batch-size", "0"}, "--batch-size");
  expect_usage_error({"--batch-size", "12x"}, "--batch-size");
  expect_usage_error({"--val-split", "0"}, "--val-split");
  expect_usage_error({"--val-split", "1"}, "--val-split");
  expect_usage_error({"--val-split", "nan"}, "--val-split");
  expect_usage_error({"--lr", "0"}, "--lr");
  expect_usage_error({"--lr", "-0.1"}, "--lr");
  expect_usage_error({"--optimizer", "adagrad"}, "--optimizer");
  expect_usage_error({"--seed", "-1"}, "--seed");
  expect_usage_error({"--eval-ranks", "2"}, "--eval-ranks");
  expect_usage_error({"--test-csv", "t.csv"}, "--test-csv");
  expect_usage_error({"--max-steps", "-1"}, "--max-steps");
  expect_usage_error({"stray"}, "stray");
}

TEST(Config, RunIdAndOverwrite) {
  EXPECT_EQ(parse({}).run_id, "");
  EXPECT_FALSE(parse({}).overwrite);
  const Config c = parse({"--run-id", "exp-3_b.2", "--overwrite"});
  EXPECT_EQ(c.run_id, "exp-3_b.2");
  EXPECT_TRUE(c.overwrite);
  expect_usage_error({"--run-id", "a b"}, "--run-id");
  expect_usage_error({"--run-id", "a/b"}, "--run-id");
  expect_usage_error({"--run-id", std::string(65, 'x').c_str()}, "--run-id");
}

TEST(Config, StallTimeout) {
  EXPECT_EQ(parse({}).stall_timeout, 60);
  EXPECT_EQ(parse({"--stall-timeout", "0"}).stall_timeout, 0);
  EXPECT_EQ(parse({"--stall-timeout", "7.5"}).stall_timeout, 7.5);
  expect_usage_error({"--stall-timeout", "-1"}, "--stall-timeout");
  expect_usage_error({"--stall-timeout", "nan"}, "--stall-timeout");
  expect_usage_error({"--stall-timeout", "1e9"}, "--stall-timeout");
  expect_usage_error({"--stall-timeout", "soon"}, "--stall-timeout");
}

// The exact sum's bound allows at most kMaxMicroBatches micro-batches per step; the message
// names both options and the smallest --micro-batch that works.
TEST(Config, MicroBatchCountIsBounded) {
  EXPECT_NO_THROW(parse({"--batch-size", "1024", "--micro-batch", "1"}));
  EXPECT_NO_THROW(parse({"--batch-size", "4096", "--micro-batch", "4"}));
  expect_usage_error({"--batch-size", "1025", "--micro-batch", "1"}, "--batch-size 1025 with --micro-batch 1");
  expect_usage_error({"--batch-size", "4097", "--micro-batch", "4"}, "raise --micro-batch to at least 5");
}

TEST(Config, DescribeChangesWithTheMathematics) {
  EXPECT_EQ(describe(parse({})), describe(parse({})));
  EXPECT_NE(describe(parse({})), describe(parse({"--seed", "1"})));
  EXPECT_NE(describe(parse({})), describe(parse({"--batch-size", "256"})));
}

// describe() holds exactly the settings the table marks Ranks::agree, as key=value lines.
TEST(Config, DescribeListsTheSettingsRanksShare) {
  const Config c = parse({"--eval-ranks", "all", "--rmsprop-form", "keras3"});
  const std::string text = describe(c);
  visit_settings(c, [&](const SettingInfo& info, const auto& value) {
    const std::string line = std::string(info.key) + "=" + to_text(value) + "\n";
    EXPECT_EQ(text.find(line) != std::string::npos, info.ranks == Ranks::agree) << info.key;
  });
  EXPECT_NE(text.find("eval_ranks=all\n"), std::string::npos);
  EXPECT_NE(text.find("profile=false\n"), std::string::npos);  // a collective per epoch: every rank must agree
  EXPECT_EQ(text.find("data_dir="), std::string::npos);       // ranks compare the data's fingerprints instead
}

}  // namespace
}  // namespace fmnist
