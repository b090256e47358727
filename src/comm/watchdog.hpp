// The stall watchdog, without threads (docs/clusters.md: When a rank stops responding): every collective of
// Comm is a non-blocking MPI_I* call polled with MPI_Test against a deadline, beside small messages:
// every rank tells rank 0 "I arrived at collective s", and rank 0 tells every rank "I am in
// collective s"; both repeat it while they wait (rank 0 also while it works alone), so a rank that
// falls silent is named even when it froze inside the collective. It starts right after MPI_Init.
#pragma once

#include <mpi.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "fmnist/comm.hpp"
#include "stall_rules.hpp"

namespace fmnist {

// The monotonic clock in seconds, as the watchdog and the progress guard read it.
inline double clock_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

class Watchdog {
 public:
  // Not collective (a frozen rank cannot hang it): posts the exchange of host names (every rank to
  // rank 0, rank 0 to every rank) and the receives of the watch words, all point-to-point on
  // MPI_COMM_WORLD (tags 1-3; nothing else in the program sends point-to-point). timeout 0: off.
  explicit Watchdog(double timeout);
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  void set_timeout(double timeout);  // local: the value the ranks agreed on
  // Waits for `request`, a non-blocking collective every rank posted in the same order, at most
  // the timeout; then prints whom it waited for and `at`, and aborts the job (exit 6).
  void wait(MPI_Request& request, const WatchPoint& at);
  // Rank 0, working alone: tells every rank it is alive, when that is due. Cheap.
  void keep_alive();
  // Where the last watched collective was, for the one at the end of the run.
  WatchPoint end_point() const;
  // After the last collective: cancels the pending receives and frees the pending sends.
  void close();

 private:
  struct Slot {  // an outgoing word and its request; the value must live until the send completes
    std::int64_t value = 0;
    MPI_Request request = MPI_REQUEST_NULL;
  };
  void send(int to, int tag, std::int64_t value);
  void say_to_all(std::int64_t value, double now);
  void drain(double now);
  void drain_hosts();
  void look(std::int64_t seq, double entered, double now, const WatchPoint& at);
  [[noreturn]] void give_up(const std::string& message) const;

  int rank_ = 0;
  int size_ = 1;
  StallRules rules_;
  std::int64_t seq_ = 0;  // number of watched collectives entered
  WatchPoint last_{"at the start"};
  std::vector<std::array<Slot, 2>> out_;  // per destination rank
  // Host names: this rank's (sent), and on rank 0 every rank's, received as they come.
  std::array<char, MPI_MAX_PROCESSOR_NAME> my_host_{};
  std::vector<char> host_texts_;            // rank 0: (size, MPI_MAX_PROCESSOR_NAME); else one name
  std::vector<MPI_Request> host_receives_;  // rank 0: per rank; else one, from rank 0
  std::vector<MPI_Request> host_sends_;
  // Rank 0: per rank, the receive of its arrivals and the last collective it announced.
  std::vector<MPI_Request> arrival_requests_;
  std::vector<std::int64_t> arrival_values_;
  std::vector<std::int64_t> arrived_;
  std::vector<double> heard_;  // when rank 0 last heard from each rank
  std::vector<int> completed_;
  double last_said_ = 0;  // when this rank last said something (rank 0: to everyone)
  // Other ranks: the receive of rank 0's words, when rank 0 last said anything, the last
  // collective it said it is in, and when that was first heard.
  MPI_Request word_request_ = MPI_REQUEST_NULL;
  std::int64_t word_value_ = 0;
  double root_word_ = 0;
  std::int64_t root_seq_ = 0;
  double root_in_ = 0;
};

}  // namespace fmnist
