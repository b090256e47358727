// The one check of every MPI call in src/comm (as for every C library here: each call checked in one
// place that reports the call, file and line), the one narrowing of element counts to MPI's int
// (a count above INT_MAX is an Error, never a silent wrap), and the one way to end the job from one rank.
#pragma once

#include <cstddef>

namespace fmnist {

// An MPI call that did not return MPI_SUCCESS: prints the call, file, line and MPI's text, then
// ends the job (abort_job, exit 1). Communicator errors are fatal anyway (MPI_ERRORS_ARE_FATAL);
// this catches the rest.
void check_mpi(int rc, const char* call, const char* file, int line);

// n as MPI's int count of `what`; throws Error(Exit::internal) when n > INT_MAX.
int mpi_count(std::size_t n, const char* what);

// Ends the whole job with `code`: the verdict file for launch/mpirun.sh, then MPI_Abort, bounded:
// should MPI_Abort not return or end this process within kAbortGrace seconds (its launcher daemon
// frozen or cut off), the process ends itself with `code`.
[[noreturn]] void abort_job(int code);
constexpr unsigned kAbortGrace = 10;

}  // namespace fmnist

#define CHECK_MPI(call) ::fmnist::check_mpi((call), #call, __FILE__, __LINE__)
