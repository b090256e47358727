// Parses and validates fmnist_dist's options with cxxopts. Every option comes from the settings
// table (settings.hpp); every problem becomes Error(Exit::usage) with the option's name, so the user
// knows what to change.
#include "fmnist/config.hpp"

#include <cxxopts.hpp>

#include <cmath>
#include <set>
#include <sstream>
#include <type_traits>
#include <vector>

#include "fmnist/error.hpp"
#include "fmnist/run_dir.hpp"

namespace fmnist {
namespace {

// Ranges and combinations the table cannot say; the text-to-value errors come from from_text.
void validate(const Config& c) {
  if (c.epochs <= 0) usage_error("epochs", "must be a positive integer, got " + std::to_string(c.epochs));
  if (c.batch_size <= 0) usage_error("batch-size", "must be a positive integer, got " + std::to_string(c.batch_size));
  if (!(c.val_split > 0.0 && c.val_split < 1.0))
    usage_error("val-split", "must lie strictly between 0 and 1, got " + std::to_string(c.val_split));
  if (!(c.lr > 0.0) || !std::isfinite(c.lr)) usage_error("lr", "must be a positive number, got " + std::to_string(c.lr));
  if (!(c.momentum >= 0.0 && c.momentum < 1.0)) usage_error("momentum", "must lie in [0, 1)");
  if (c.checkpoint_every < 0) usage_error("checkpoint-every", "must be 0 (off) or a positive number of steps");
  if (c.max_steps < 0) usage_error("max-steps", "must be 0 (no limit) or a positive number of steps");
  if (c.micro_batch <= 0 || c.micro_batch > 4096) usage_error("micro-batch", "must lie in 1..4096");
  const long long micro_batches = (static_cast<long long>(c.batch_size) + c.micro_batch - 1) / c.micro_batch;
  if (micro_batches > kMaxMicroBatches)
    throw Error(Exit::usage, "--batch-size " + std::to_string(c.batch_size) + " with --micro-batch " +
                                 std::to_string(c.micro_batch) + " makes " + std::to_string(micro_batches) +
                                 " micro-batches per step; at most " + std::to_string(kMaxMicroBatches) +
                                 " keep the exact sum inside 64 bits: raise --micro-batch to at least " +
                                 std::to_string((c.batch_size + kMaxMicroBatches - 1) / kMaxMicroBatches) +
                                 " (see --help)");
  if (!(c.stall_timeout >= 0 && c.stall_timeout <= 86400))
    usage_error("stall-timeout", "must be 0 (off) or a number of seconds up to 86400");
  if (c.out_dir.empty()) usage_error("out-dir", "must not be empty");
  if (!c.run_id.empty() && !valid_run_id(c.run_id))
    usage_error("run-id", "must be 1 to 64 letters, digits, '-', '_' or '.', got '" + c.run_id.substr(0, 80) + "'");
  if (!c.test_csv.empty() && c.train_csv.empty()) usage_error("test-csv", "needs --train-csv as well");
}

// One cxxopts option per table entry, in the --help sections of the table's groups. Flags (bool)
// take no value; the others are read as text and converted by from_text after parsing.
void add_options(cxxopts::Options& options, bool& rmsprop_keras2) {
  const Settings defaults;
  for (Group group : {Group::data, Group::model, Group::training, Group::output}) {
    auto adder = options.add_options(group_name(group));
    visit_settings(defaults, [&](const SettingInfo& info, const auto& value) {
      if (info.group != group) return;
      if constexpr (std::is_same_v<std::decay_t<decltype(value)>, bool>) {
        adder(option_name(info), info.help, cxxopts::value<bool>());
      } else {
        auto text = cxxopts::value<std::string>();
        if (!to_text(value).empty()) text->default_value(to_text(value));
        if (info.implicit != nullptr) text->implicit_value(info.implicit);
        adder(option_name(info), info.help, text);
      }
      if (std::string_view(info.key) == "rmsprop_form")  // the former option, listed beside the current one
        adder("rmsprop-keras2", "the same as --rmsprop-form keras2 (the default)", cxxopts::value(rmsprop_keras2));
    });
    if (group == Group::output) {
      adder("h,help", "print this help and exit");
      adder("version", "print the version, the Git commit and the kernels' instruction set, and exit");
    }
  }
}

// "--resume FILE" as well as "--resume" alone: cxxopts only takes "--resume=FILE" for an option
// with an implicit value, so join such a pair.
std::vector<std::string> join_implicit_values(int argc, const char* const* argv) {
  std::set<std::string> implicit;
  const Settings defaults;
  visit_settings(defaults, [&](const SettingInfo& info, const auto&) {
    if (info.implicit != nullptr) implicit.insert("--" + option_name(info));
  });
  std::vector<std::string> words(argv, argv + argc);
  for (std::size_t i = 1; i + 1 < words.size(); ++i) {
    if (implicit.count(words[i]) > 0 && words[i + 1].rfind("-", 0) != 0) {
      words[i] += "=" + words[i + 1];
      words.erase(words.begin() + static_cast<std::ptrdiff_t>(i) + 1);
    }
  }
  return words;
}

}  // namespace

Config parse_config(int argc, const char* const* argv) {
  Config c;
  cxxopts::Options options("fmnist_dist",
                           "Data-parallel training of the Keras Fashion-MNIST CNN.\n"
                           "Run under MPI: mpirun -np N fmnist_dist [options]");
  bool rmsprop_keras2 = false;  // the former option, now the default: an alias of --rmsprop-form keras2
  add_options(options, rmsprop_keras2);
  const std::vector<std::string> words = join_implicit_values(argc, argv);
  std::vector<const char*> joined;
  for (const auto& w : words) joined.push_back(w.c_str());
  try {
    const auto result = options.parse(static_cast<int>(joined.size()), joined.data());
    if (!result.unmatched().empty())
      throw Error(Exit::usage, "unexpected argument '" + result.unmatched().front() + "' (see --help)");
    c.help = result.count("help") > 0;
    c.version = result.count("version") > 0;
    c.help_text = options.help();
    if (c.help || c.version) return c;
    visit_settings(c, [&](const SettingInfo& info, auto& value) {
      const std::string name = option_name(info);
      if (result.count(name) == 0) return;
      if constexpr (std::is_same_v<std::decay_t<decltype(value)>, bool>) {
        value = result[name].as<bool>();
      } else if (const auto problem = from_text(result[name].as<std::string>(), value)) {
        usage_error(name, *problem);
      }
    });
  } catch (const cxxopts::exceptions::exception& e) {
    throw Error(Exit::usage, std::string(e.what()) + " (see --help)");
  }
  if (rmsprop_keras2 && c.rmsprop_form != RmspropForm::keras2)
    usage_error("rmsprop-keras2", "contradicts --rmsprop-form " + to_text(c.rmsprop_form));
  validate(c);
  return c;
}

std::string describe(const Settings& s) {
  std::string text;
  visit_settings(s, [&](const SettingInfo& info, const auto& value) {
    if (info.ranks == Ranks::agree) text += std::string(info.key) + "=" + to_text(value) + "\n";
  });
  return text;
}

}  // namespace fmnist
