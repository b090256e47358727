// fmnist_dist: data-parallel training of the Keras Fashion-MNIST CNN under MPI.
// main() only turns errors into messages and exit codes, the same on every rank (README: Exit codes).
#include <csignal>
#include <cstdio>

#include "fmnist/comm.hpp"
#include "fmnist/config.hpp"
#include "fmnist/trainer.hpp"

int main(int argc, char** argv) {
  using namespace fmnist;
  // Before MPI_Init: a file-size limit (ulimit -f) must make writes fail with EFBIG, reported
  // as exit 4, instead of killing the process with SIGXFSZ.
  std::signal(SIGXFSZ, SIG_IGN);
  Comm comm(&argc, &argv);
  try {
    Config config;
    std::string message;
    int code = 0;
    try {
      config = parse_config(argc, argv);
    } catch (const Error& e) {
      code = e.exit_code();
      message = e.what();
    }
    const int worst = comm.agree(code, message);
    if (worst != 0) throw CollectiveError(static_cast<Exit>(worst), message);
    if (config.help) {
      if (comm.is_root()) std::printf("%s\n", config.help_text.c_str());
      return 0;
    }
    return run_training(config, comm);
  } catch (const CollectiveError& e) {
    if (comm.is_root()) std::fprintf(stderr, "fmnist_dist: error: %s\n", e.what());
    return e.exit_code();
  } catch (const Error& e) {
    // A failure on this rank alone, in mid-training: end the whole job now.
    std::fprintf(stderr, "fmnist_dist: rank %d: error: %s\n", comm.rank(), e.what());
    if (comm.size() > 1) comm.abort(e.exit_code());
    return e.exit_code();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fmnist_dist: rank %d: internal error: %s\n", comm.rank(), e.what());
    if (comm.size() > 1) comm.abort(static_cast<int>(Exit::internal));
    return static_cast<int>(Exit::internal);
  }
}
