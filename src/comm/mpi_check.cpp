// The one MPI error check and count narrowing (see mpi_check.hpp).
#include "mpi_check.hpp"

#include <mpi.h>

#include <climits>
#include <cstdio>
#include <string>

#include "fmnist/error.hpp"

namespace fmnist {

void check_mpi(int rc, const char* call, const char* file, int line) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  std::fprintf(stderr, "fmnist_dist: %s failed at %s:%d: %s\n", call, file, line, text);
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, static_cast<int>(Exit::internal));
}

int mpi_count(std::size_t n, const char* what) {
  if (n > static_cast<std::size_t>(INT_MAX))
    throw Error(Exit::internal, std::string(what) + ": " + std::to_string(n) +
                                    " elements are more than one MPI call can carry (INT_MAX = " +
                                    std::to_string(INT_MAX) + ")");
  return static_cast<int>(n);
}

}  // namespace fmnist
