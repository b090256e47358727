// A deadline that needs no MPI, for the two calls MPI cannot watch itself: MPI_Init and
// MPI_Finalize wait for every process of the job, so one frozen process would hang them forever.
// While a Deadline lives, SIGALRM after `seconds` writes the message and ends the process with exit 6
// (async-signal-safe: write and _exit); mpirun then ends the job's other processes.
#pragma once

#include <string>

namespace fmnist {

class Deadline {
 public:
  // seconds <= 0: no deadline. `message` is the whole line written to standard error.
  Deadline(double seconds, const std::string& message);
  ~Deadline();  // cancels the alarm and restores SIGALRM's default action
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

 private:
  bool armed_ = false;
};

// "rank R (host)" from what the launcher put into the environment before MPI_Init
// (OMPI_COMM_WORLD_RANK, PMIX_RANK, PMI_RANK), "rank ?" when none is set.
std::string launcher_rank_name();

}  // namespace fmnist
