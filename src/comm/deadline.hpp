// Deadlines that need no MPI. MPI_Init and MPI_Finalize wait for every process of the job, so one
// frozen process would hang them forever; and MPI_Abort itself may wait for a launcher daemon that
// no longer answers. While a Deadline lives, SIGALRM after `seconds` writes the message and ends the
// process with exit 6; exit_after() ends it with a given code (async-signal-safe: write and _exit).
// Either way the verdict goes to launch/mpirun.sh (launch_status.hpp) and mpirun ends the job's other processes.
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

// From now on, `seconds` later the process ends with exit `code` (_exit), whatever it is doing:
// the bound on an MPI_Abort that does not return. Replaces any Deadline's alarm.
void exit_after(unsigned seconds, int code);

// "rank R (host)" from what the launcher put into the environment before MPI_Init
// (OMPI_COMM_WORLD_RANK, PMIX_RANK, PMI_RANK), "rank ?" when none is set.
std::string launcher_rank_name();

}  // namespace fmnist
