// Deadlines that need no MPI, for MPI_Init and MPI_Finalize (they wait for every process, so one frozen
// process would hang them) and MPI_Abort (it may wait for a launcher daemon that no longer answers):
// SIGALRM then writes a prepared message and the verdict (launch_status.hpp) and calls _exit with the
// code (async-signal-safe); mpirun ends the job's other processes.
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
