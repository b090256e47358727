// The stall watchdog's decisions, apart from MPI, threads and the clock so that they can be
// unit-tested: when a rank waiting in a collective gives up, and whom its message names; and when
// the progress guard (progress_guard.hpp) says "still here" for rank 0 or ends a rank stuck outside
// the collectives (docs/clusters.md: When a rank stops responding). Times are seconds on one rank's steady clock.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fmnist {

class StallRules {
 public:
  // hosts[r]: the host name of rank r. `timeout`: the longest wait (--stall-timeout, > 0);
  // `grace`: how much longer a rank waits, once rank 0 is in the collective, for rank 0's verdict.
  StallRules(int rank, std::vector<std::string> hosts, double timeout, double grace);

  double timeout() const { return timeout_; }
  void set_timeout(double timeout) { timeout_ = timeout; }
  // Host names arrive one by one at start-up (Watchdog); until then a rank's host is unknown.
  void set_host(int rank, const std::string& host);
  // Rank 0 says something to every rank, and every waiting rank to rank 0, this often.
  double word_interval() const { return timeout_ / 4; }

  // "rank 3 (node7)", or "rank 3 (host unknown)".
  std::string name(int rank) const;
  // True when the ranks run on more than one host.
  bool several_hosts() const;

  // Rank 0, at time `now`, waiting since `entered` in collective number `seq`; arrived[r] is the
  // last collective rank r announced and heard[r] when rank 0 last heard from it (waiting ranks
  // repeat their word every word_interval()); entry 0 is ignored. Once the timeout has passed,
  // the ranks that have not arrived or have been silent for half the timeout are named.
  // Returns "" to keep waiting, else the message.
  std::string root_verdict(double now, double entered, const std::vector<std::int64_t>& arrived,
                           const std::vector<double>& heard, std::int64_t seq, const std::string& where) const;

  // Another rank: rank 0 has said nothing for `silent` seconds (counted from when this rank
  // entered the collective at the earliest); `since_root_in` is how long ago rank 0 said it is in
  // this collective too (negative: not yet). Returns "" to keep waiting, else the message.
  std::string member_verdict(double silent, double since_root_in, const std::string& where) const;

 private:
  int rank_;
  std::vector<std::string> hosts_;
  double timeout_;
  double grace_;
};

// The progress guard's clock: when the main thread last made progress (used CPU time, or was inside
// an MPI call, where the watchdog above watches it), from looks taken every kLookEvery seconds.
class ProgressRules {
 public:
  static constexpr double kLookEvery = 0.1;
  // A gap this long between two looks means the process (or the whole machine) was stopped, e.g. by
  // SIGSTOP or a suspended job: the time without progress counts again from the look after it.
  static constexpr double kStoppedGap = 1.0;

  explicit ProgressRules(double now) : last_look_(now), last_progress_(now) {}
  void look(double now, bool moved);
  double still(double now) const { return now - last_progress_; }
  // Rank 0 says "still here" to the ranks waiting for it while it makes progress alone.
  bool keep_alive(double now, double timeout) const { return timeout > 0 && still(now) < timeout / 4; }
  // No progress outside MPI for longer than the other ranks take to give up on this one (their timeout
  // after rank 0's last word, which comes up to timeout / 4 after its last progress) plus a grace: end it.
  static double hang_limit(double timeout) { return 1.25 * timeout + 5; }
  bool hung(double now, double timeout) const { return timeout > 0 && still(now) >= hang_limit(timeout); }

 private:
  double last_look_;
  double last_progress_;
};

// The ranks (rank 0 excluded), in order, whose last announced collective is before `seq` or
// that rank 0 last heard from `silence` seconds or more before `now`.
std::vector<int> late_ranks(const std::vector<std::int64_t>& arrived, const std::vector<double>& heard,
                            std::int64_t seq, double now, double silence);

}  // namespace fmnist
