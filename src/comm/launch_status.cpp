// The status files for launch/mpirun.sh (see launch_status.hpp): plain open/write/close on
// paths prepared in fixed buffers, so that a SIGALRM handler and the progress guard's thread can
// report without locks or allocation.
#include "launch_status.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>

namespace fmnist {
namespace {

char g_started[4096];  // "<folder>/started", or empty: nothing to report
char g_verdict[4096];  // "<folder>/verdict"
char g_rank[24] = "?";
bool g_reported_start = false;

// Creates `path` (if it does not exist yet) holding `text`. Async-signal-safe.
void create_once(const char* path, const char* text, std::size_t length) noexcept {
  if (path[0] == '\0') return;
  const int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return;
  const ssize_t written = write(fd, text, length);
  (void)written;
  close(fd);
}

// The decimal digits of `value` (>= 0) into `out`; returns the length. Async-signal-safe.
std::size_t digits(int value, char* out) noexcept {
  char reversed[12];
  std::size_t n = 0;
  unsigned v = value < 0 ? 0u : static_cast<unsigned>(value);
  do {
    reversed[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0 && n < sizeof reversed);
  for (std::size_t i = 0; i < n; ++i) out[i] = reversed[n - 1 - i];
  return n;
}

}  // namespace

void prepare_launch_status() {
  g_started[0] = g_verdict[0] = '\0';
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"})
    if (const char* value = std::getenv(name)) {
      std::snprintf(g_rank, sizeof g_rank, "%s", value);
      break;
    }
  const char* folder = std::getenv("FMNIST_RANK_STATUS");
  if (!folder || folder[0] == '\0' || std::strlen(folder) + 16 > sizeof g_started) return;
  std::snprintf(g_started, sizeof g_started, "%s/started", folder);
  std::snprintf(g_verdict, sizeof g_verdict, "%s/verdict", folder);
}

void report_started() {
  if (g_reported_start) return;
  g_reported_start = true;
  char text[32];
  const int length = std::snprintf(text, sizeof text, "%s\n", g_rank);
  create_once(g_started, text, static_cast<std::size_t>(length));
}

void report_verdict(int code) noexcept {
  char text[48];
  std::size_t n = digits(code, text);
  text[n++] = ' ';
  for (const char* c = g_rank; *c != '\0' && n < sizeof text - 1; ++c) text[n++] = *c;
  text[n++] = '\n';
  create_once(g_verdict, text, n);
}

}  // namespace fmnist
