// The one MPI error check, count narrowing and bounded abort (see mpi_check.hpp).
#include "mpi_check.hpp"

#include <mpi.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "deadline.hpp"
#include "fmnist/error.hpp"
#include "launch_status.hpp"

namespace fmnist {

void check_mpi(int rc, const char* call, const char* file, int line) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  std::fprintf(stderr, "fmnist_dist: %s failed at %s:%d: %s\n", call, file, line, text);
  abort_job(static_cast<int>(Exit::internal));
}

int mpi_count(std::size_t n, const char* what) {
  if (n > static_cast<std::size_t>(INT_MAX))
    throw Error(Exit::internal, std::string(what) + ": " + std::to_string(n) +
                                    " elements are more than one MPI call can carry (INT_MAX = " +
                                    std::to_string(INT_MAX) + ")");
  return static_cast<int>(n);
}

void abort_job(int code) {
  report_verdict(code);
  std::fflush(stdout);
  std::fflush(stderr);
  exit_after(kAbortGrace, code);
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

}  // namespace fmnist
