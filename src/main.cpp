// fmnist_dist: data-parallel training of the Keras Fashion-MNIST CNN under MPI. main() installs the stop
// handlers first of all, then only turns errors into messages and exit codes, the same on every rank
// (README: Exit codes). Every collective, from MPI_Init to MPI_Finalize, is under the stall watchdog; until
// the options are agreed it uses the --stall-timeout found by a plain scan of the command line.
#include <csignal>
#include <cstdio>
#include <string>

#include "fmnist/comm.hpp"
#include "fmnist/config.hpp"
#include "fmnist/trainer.hpp"
#include "fmnist/version.hpp"
#include "train/kernel_check.hpp"
#include "train/stop_signal.hpp"
#include "train/test_hooks.hpp"

namespace {

// --stall-timeout S or --stall-timeout=S from argv, before the options are parsed; the default
// when absent, or when the value does not pass the table's check (the parsed, agreed value replaces
// it soon after).
double scan_stall_timeout(int argc, char** argv) {
  const std::string name = "--stall-timeout";
  fmnist::Settings settings;  // the options table's defaults
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const char* value = nullptr;
    if (arg == name && i + 1 < argc) value = argv[i + 1];
    if (arg.rfind(name + "=", 0) == 0) value = argv[i] + name.size() + 1;
    if (value && !fmnist::set_setting(settings, "stall_timeout", value)) break;
  }
  return settings.stall_timeout;
}

// Parses and agrees on the options, then trains. Returns the exit code, or ends the job (MPI_Abort)
// for a failure on one rank alone.
int run(fmnist::Comm& comm, int argc, char** argv) {
  using namespace fmnist;
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
    const int worst = comm.agree(code, message, WatchPoint{"in the start-up check of the options"});
    if (worst != 0) throw CollectiveError(static_cast<Exit>(worst), message);
    comm.set_stall_timeout(config.stall_timeout);
    if (config.help || config.version) {
      if (comm.is_root()) {
        std::fputs(config.help ? (config.help_text + "\n").c_str() : version_text("fmnist_dist").c_str(), stdout);
      }
      return 0;
    }
    warn_if_kernels_differ(comm);
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

}  // namespace

int main(int argc, char** argv) {
  using namespace fmnist;
  // First: SIGUSR1 and SIGTERM only set the stop flag from now on, during MPI_Init, the option
  // parsing and the data loading too; the first step's allreduce carries it (docs/clusters.md:
  // Errors and preemption). Before MPI_Init: a file-size limit (ulimit -f) must make writes fail
  // with EFBIG, reported as exit 4, instead of killing the process with SIGXFSZ.
  install_stop_handlers();
  std::signal(SIGXFSZ, SIG_IGN);
  test_hooks::before_init();
  Comm comm(&argc, &argv, scan_stall_timeout(argc, argv));
  test_hooks::freeze_at(comm.rank(), "start");
  const int code = run(comm, argc, argv);
  comm.finish();
  test_hooks::freeze_at(comm.rank(), "shutdown");
  return code;  // ~Comm: MPI_Finalize
}
