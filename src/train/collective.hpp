// Agreement on errors across ranks: a step that may fail on some ranks (reading files, checking a
// checkpoint) runs on every rank, then all learn the worst outcome and throw the same error.
#pragma once

#include <string>

#include "fmnist/comm.hpp"
#include "fmnist/error.hpp"
#include "fmnist/trainer.hpp"

namespace fmnist {

// Runs f on every rank; if any rank fails, every rank throws the same CollectiveError.
// `at` names the phase for the stall watchdog ("in the start-up check of the data").
template <typename F>
void collectively(const Comm& comm, const WatchPoint& at, F&& f) {
  int code = 0;
  std::string message;
  try {
    f();
  } catch (const Error& e) {
    code = e.exit_code();
    message = e.what();
  }
  code = comm.agree(code, message, at);
  if (code != 0) throw CollectiveError(static_cast<Exit>(code), message);
}

}  // namespace fmnist
