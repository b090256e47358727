// What rank 0 prints while training (README: The two commands): the start-up lines, the live progress bar,
// one line per epoch, the --profile line and the closing lines. Only rank 0 prints; the profile
// line is collective (every rank's peak memory travels in one allreduce).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "fmnist/checkpoint.hpp"
#include "fmnist/comm.hpp"
#include "fmnist/config.hpp"
#include "fmnist/history.hpp"

namespace fmnist {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point start);

// Where a rank's step time goes (printed per epoch with --profile).
struct Profile {
  double compute = 0;    // forward and backward of this rank's share
  double allreduce = 0;  // the allreduce, including waiting for the slowest rank
  double update = 0;     // scaling and the optimizer step
};

class Reporter {
 public:
  Reporter(const Config& config, const Comm& comm);

  void say(const std::string& line) const;  // one line on rank 0's standard output
  // "Train on N samples, validate on M samples (...)" and the note on idle ranks.
  void start(std::size_t train, std::size_t validation, const std::string& source, std::int64_t steps_per_epoch) const;
  void resumed(const TrainingState& state) const;
  // The live bar after a step (when --progress asks for it) and its removal at the epoch's end.
  void progress(std::int64_t epoch, std::int64_t step, std::int64_t steps, const TrainingState& state) const;
  void end_progress() const;
  // The epoch's line, with its rate when a callback or schedule changes it (as Keras logs lr then).
  void epoch(std::int64_t epoch, std::int64_t steps, const EpochRow& row) const;
  // Collective: rank 0's step time split into compute, allreduce and update, and every rank's
  // peak memory; then the timers start again.
  void print_profile(double seconds, std::size_t images, const WatchPoint& at);
  void stopped(std::int64_t step) const;
  void reached_max_steps() const;
  void test(double loss, double accuracy) const;

  Profile timers;

 private:
  const Config& config_;
  const Comm& comm_;
  bool bar_ = false;
};

}  // namespace fmnist
