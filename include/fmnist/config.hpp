// The command line of fmnist_dist (README: fmnist_dist options): every setting of the table in settings.hpp
// becomes an option with its default, parsed with cxxopts and checked by the table (check_settings); a bad
// value throws Error(Exit::usage) naming the option.
#pragma once

#include <string>

#include "fmnist/settings.hpp"

namespace fmnist {

// The run's settings (one member per entry of FMNIST_SETTINGS), and whether --help or --version was asked.
struct Config : Settings {
  bool help = false;
  bool version = false;
  std::string help_text;
};

// Parses argv, then check_settings; throws Error(Exit::usage, "--option: what is wrong") on any bad option
// or value.
Config parse_config(int argc, const char* const* argv);

// The settings that every rank must share (Ranks::agree in the table), as "key=value" lines
// (compared at start-up). Data paths are left out: ranks compare fingerprints of the data instead.
std::string describe(const Settings& s);

}  // namespace fmnist
