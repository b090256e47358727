// The stall watchdog's decisions, apart from MPI and the clock so that they can be unit-tested:
// when a rank waiting in a collective gives up, and whom its message names (README: When a rank
// stops responding). Times are seconds on one rank's steady clock.
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
  // Rank 0 says something to every rank this often while it waits or works alone.
  double word_interval() const { return timeout_ / 4; }

  // "rank 3 (node7)".
  std::string name(int rank) const;

  // Rank 0, waiting `waited` seconds in collective number `seq`; arrived[r] is the last collective
  // rank r announced (arrived[0] is ignored). Returns "" to keep waiting, else the message.
  std::string root_verdict(double waited, const std::vector<std::int64_t>& arrived, std::int64_t seq,
                           const std::string& where) const;

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

// The ranks whose last announced collective is before `seq` (rank 0 excluded), in order.
std::vector<int> late_ranks(const std::vector<std::int64_t>& arrived, std::int64_t seq);

}  // namespace fmnist
