// The test-only freeze and failure points (see test_hooks.hpp). Each variable is read once;
// without them every call is a comparison of two cached values.
#include "test_hooks.hpp"

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
  std::string rest;
};

Target target_of(const char* variable) {
  const char* value = std::getenv(variable);
  Target t;
  if (!value) return t;
  const std::string text = value;
  const auto colon = text.find(':');
  if (colon == std::string::npos || colon == 0) return t;
  try {
    t.rank = std::stoi(text.substr(0, colon));
  } catch (const std::exception&) {
    return t;
  }
  t.rest = text.substr(colon + 1);
  return t;
}

const Target& freeze_target() {
  static const Target t = target_of("FMNIST_TEST_FREEZE");
  return t;
}

const Target& fail_target() {
  static const Target t = target_of("FMNIST_TEST_FAIL_AT");
  return t;
}

}  // namespace

void freeze_at(int rank, const char* point) {
  const Target& t = freeze_target();
  if (t.rank == rank && t.rest == point) std::raise(SIGSTOP);
}

void before_step(int rank, std::int64_t steps_done) {
  static bool first = true;
  if (std::exchange(first, false)) freeze_at(rank, "first_step");
  const Target& freeze = freeze_target();
  if (freeze.rank == rank && freeze.rest == "step=" + std::to_string(steps_done + 1)) std::raise(SIGSTOP);
  const Target& fail = fail_target();
  if (fail.rank == rank && fail.rest == std::to_string(steps_done))
    throw Error(Exit::internal, "injected failure (FMNIST_TEST_FAIL_AT=" + std::to_string(rank) + ":" + fail.rest + ")");
}

}  // namespace fmnist::test_hooks
