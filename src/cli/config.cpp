// Parses fmnist_dist's options with cxxopts. Every option comes from the settings table (settings.hpp),
// which also checks the values; every problem becomes Error(Exit::usage) with the option's name, so the
// user knows what to change.
#include "fmnist/config.hpp"

#include <cxxopts.hpp>

#include <set>
#include <type_traits>
#include <vector>

#include "fmnist/error.hpp"

namespace fmnist {
namespace {

// One cxxopts option per table entry, in the --help sections of the table's groups. Flags (bool)
// take no value; the others are read as text and converted by from_text after parsing.
void add_options(cxxopts::Options& options, bool& rmsprop_keras2) {
  const Settings defaults;
  for (Group group : {Group::data, Group::model, Group::training, Group::output}) {
    auto adder = options.add_options(to_text(group));
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
  bool weight_decay_given = false;  // else adamw takes Keras's default
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
    weight_decay_given = result.count("weight-decay") > 0;
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
  if (c.optimizer == OptimizerKind::adamw && !weight_decay_given) c.weight_decay = kAdamwWeightDecay;
  if (rmsprop_keras2 && c.rmsprop_form != RmspropForm::keras2)
    usage_error("rmsprop-keras2", "contradicts --rmsprop-form " + to_text(c.rmsprop_form));
  check_settings(c);
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
