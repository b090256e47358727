// The stall watchdog, without threads (README: When a rank stops responding): a watched collective
// is an MPI_Iallreduce polled with MPI_Test against a deadline, beside small messages on a
// duplicated communicator: every rank tells rank 0 "I arrived at collective s", and rank 0 tells
// every rank "I am in collective s"; both repeat it while they wait (rank 0 also while it works
// alone), so a rank that falls silent is named even when it froze inside the collective.
#pragma once

#include <mpi.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "fmnist/comm.hpp"
#include "stall_rules.hpp"

namespace fmnist {

class Watchdog {
 public:
  // Collective over MPI_COMM_WORLD: duplicates it and gathers every rank's host name.
  explicit Watchdog(double timeout);
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // In-place sum over MPI_COMM_WORLD that waits at most the timeout, then aborts the job (exit 6).
  void allreduce(void* data, int count, MPI_Datatype type, const WatchPoint& at);
  // Rank 0, working alone: tells every rank it is alive, when that is due. Cheap.
  void keep_alive();
  // A last watched collective (everyone reached the end), then the pending requests are dropped.
  void finish();

 private:
  struct Slot {  // an outgoing word and its request; the value must live until the send completes
    std::int64_t value = 0;
    MPI_Request request = MPI_REQUEST_NULL;
  };
  void send(int to, int tag, std::int64_t value);
  void say_to_all(std::int64_t value, double now);
  void drain(double now);
  [[noreturn]] void give_up(const std::string& message) const;

  MPI_Comm comm_ = MPI_COMM_NULL;  // the duplicate: only watch messages travel here
  int rank_ = 0;
  int size_ = 1;
  StallRules rules_;
  std::int64_t seq_ = 0;  // number of watched collectives entered
  WatchPoint last_{"at", 0, 0};
  std::vector<std::array<Slot, 2>> out_;  // per destination rank
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
