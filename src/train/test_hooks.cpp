// The test-only freeze, hang, slow-down, kill and failure points (see test_hooks.hpp). Each variable
// is read once; without them every call is a comparison of cached values.
#include "test_hooks.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <string>
#include <utility>

#include "fmnist/error.hpp"

namespace fmnist::test_hooks {
namespace {

// "RANK:REST" from an environment variable; rank -1 when unset or malformed.
struct Target {
  int rank = -1;
  bool every_rank = false;  // "*:REST"
  std::string rest;

  bool at(int r, const std::string& point) const { return (every_rank || rank == r) && rest == point; }
};

Target target_of(const char* variable) {
  const char* value = std::getenv(variable);
  Target t;
  if (!value) return t;
  const std::string text = value;
  const auto colon = text.find(':');
  if (colon == std::string::npos || colon == 0) return t;
  if (text.substr(0, colon) == "*") {
    t.every_rank = true;
  } else {
    try {
      t.rank = std::stoi(text.substr(0, colon));
    } catch (const std::exception&) {
      return t;
    }
  }
  t.rest = text.substr(colon + 1);
  return t;
}

const Target& freeze_target() {
  static const Target t = target_of("FMNIST_TEST_FREEZE");
  return t;
}

const Target& hang_target() {
  static const Target t = target_of("FMNIST_TEST_HANG");
  return t;
}

// FMNIST_TEST_SLOW's "POINT:SECONDS" split: rest is POINT, seconds in `seconds`.
struct SlowTarget : Target {
  double seconds = 0;
};

const SlowTarget& slow_target() {
  static const SlowTarget t = [] {
    SlowTarget s;
    static_cast<Target&>(s) = target_of("FMNIST_TEST_SLOW");
    const auto colon = s.rest.rfind(':');
    if (colon == std::string::npos) return SlowTarget{};
    s.seconds = std::atof(s.rest.c_str() + colon + 1);
    s.rest.resize(colon);
    return s;
  }();
  return t;
}

// A read that never returns: from a pipe whose write end this process keeps open.
[[noreturn]] void hang() {
  int ends[2];
  if (pipe(ends) != 0) std::abort();
  char byte = 0;
  for (;;) {
    const ssize_t got = read(ends[0], &byte, 1);
    (void)got;
  }
}

// `seconds` of small synced writes to an unlinked scratch file, one every 0.1 s.
void slow_writes(double seconds) {
  char path[] = "/tmp/fmnist_slow.XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) return;
  unlink(path);
  const std::string block(4096, 'x');
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (write(fd, block.data(), block.size()) < 0 || fsync(fd) != 0) break;
    usleep(100000);
  }
  close(fd);
}

const Target& fail_target() {
  static const Target t = target_of("FMNIST_TEST_FAIL_AT");
  return t;
}

// FMNIST_TEST_KILL_AT, as given ("" when unset).
const std::string& kill_point() {
  static const std::string point = std::getenv("FMNIST_TEST_KILL_AT") ? std::getenv("FMNIST_TEST_KILL_AT") : "";
  return point;
}

// Whether a point that matched may act: always, unless FMNIST_TEST_HOOK_ONCE names a file; then
// only if that file does not exist yet, and it is created now (O_EXCL: one process only).
bool may_act() {
  const char* once = std::getenv("FMNIST_TEST_HOOK_ONCE");
  if (once == nullptr || *once == '\0') return true;
  const int fd = ::open(once, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

void raise_if_allowed(int signal) {
  if (may_act()) std::raise(signal);
}

}  // namespace

void freeze_at(int rank, const char* point) {
  const Target& t = freeze_target();
  if (t.at(rank, point)) raise_if_allowed(SIGSTOP);
  const Target& h = hang_target();
  if (h.at(rank, point)) hang();
  const SlowTarget& s = slow_target();
  if (s.at(rank, point)) slow_writes(s.seconds);
}

void before_init() {
  const char* rank = std::getenv("OMPI_COMM_WORLD_RANK");
  if (rank) freeze_at(std::atoi(rank), "init");
}

void after_rename(const char* file) {
  const std::string& point = kill_point();
  const std::string prefix = std::string("after_rename:") + file;
  if (point.rfind(prefix, 0) != 0) return;
  const std::string rest = point.substr(prefix.size());
  if (!rest.empty() && rest[0] != ':') return;  // another file whose name starts the same
  static int seen = 0;
  ++seen;
  if ((rest.empty() && seen == 1) || (!rest.empty() && rest.substr(1) == std::to_string(seen))) raise_if_allowed(SIGKILL);
}

void before_step(int rank, std::int64_t steps_done) {
  static bool first = true;
  if (std::exchange(first, false)) freeze_at(rank, "first_step");
  const Target& freeze = freeze_target();
  const std::string step = "step=" + std::to_string(steps_done + 1);
  if (freeze.at(rank, step)) raise_if_allowed(SIGSTOP);
  if (rank == 0 && kill_point() == step) raise_if_allowed(SIGKILL);
  const Target& fail = fail_target();
  if (fail.at(rank, std::to_string(steps_done)))
    throw Error(Exit::internal, "injected failure (FMNIST_TEST_FAIL_AT=" + std::to_string(rank) + ":" + fail.rest + ")");
}

}  // namespace fmnist::test_hooks
