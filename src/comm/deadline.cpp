// The MPI-free deadlines (see deadline.hpp): alarm() plus a SIGALRM handler that only writes a
// prepared message and the verdict file, then calls _exit with the code (README: Exit codes).
#include "deadline.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <cstring>

#include "fmnist/error.hpp"
#include "launch_status.hpp"

namespace fmnist {
namespace {

char g_message[512];  // the handler's text: prepared before the alarm is set
std::size_t g_length = 0;
volatile std::sig_atomic_t g_code = static_cast<int>(Exit::stalled);

extern "C" void on_deadline(int) {
  const ssize_t written = write(STDERR_FILENO, g_message, g_length);
  (void)written;
  report_verdict(g_code);
  _exit(g_code);
}

void arm(unsigned seconds) {
  struct sigaction action {};
  action.sa_handler = on_deadline;
  sigemptyset(&action.sa_mask);
  sigaction(SIGALRM, &action, nullptr);
  alarm(seconds);
}

}  // namespace

Deadline::Deadline(double seconds, const std::string& message) {
  if (!(seconds > 0)) return;
  const std::string line = message + "\n";
  g_length = std::min(line.size(), sizeof g_message);
  std::memcpy(g_message, line.data(), g_length);
  g_code = static_cast<int>(Exit::stalled);
  arm(static_cast<unsigned>(std::ceil(std::min(seconds, 86400.0 * 2))));
  armed_ = true;
}

Deadline::~Deadline() {
  if (!armed_) return;
  alarm(0);
  std::signal(SIGALRM, SIG_DFL);
}

void exit_after(unsigned seconds, int code) {
  g_length = 0;
  g_code = code;
  arm(seconds);
}

std::string launcher_rank_name() {
  std::string rank = "?";
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"})
    if (const char* value = std::getenv(name)) {
      rank = value;
      break;
    }
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return "rank " + rank + " (" + host + ")";
}

}  // namespace fmnist
