// Errors that end the program with a documented exit code (README: Exit codes).
// Every module throws fmnist::Error; main() turns it into a message and the exit code,
// and the MPI layer makes sure every rank leaves with the same code.
#pragma once

#include <stdexcept>
#include <string>

namespace fmnist {

enum class Exit : int {
  ok = 0,
  internal = 1,    // a bug or an unexpected failure
  usage = 2,       // bad command line or option value
  data = 3,        // bad or missing input data
  checkpoint = 4,  // bad, corrupt or incompatible checkpoint, or unwritable output
  diverged = 5,    // the training loss became NaN or infinite; the last finite checkpoint is kept
  stalled = 6,     // a rank stopped responding (--stall-timeout); the last checkpoint is kept
  stopped = 75,    // stopped by a signal after writing a checkpoint (EX_TEMPFAIL)
};

class Error : public std::runtime_error {
 public:
  Error(Exit code, const std::string& message) : std::runtime_error(message), code_(code) {}
  Exit code() const { return code_; }
  int exit_code() const { return static_cast<int>(code_); }

 private:
  Exit code_;
};

// A bad option value: Error(Exit::usage, "--<option>: <what> (see --help)"), the one form of every such message.
[[noreturn]] inline void usage_error(const std::string& option, const std::string& what) {
  throw Error(Exit::usage, "--" + option + ": " + what + " (see --help)");
}

// A bad input file: Error(Exit::data, "<path>: <what>").
[[noreturn]] inline void data_error(const std::string& path, const std::string& what) {
  throw Error(Exit::data, path + ": " + what);
}

}  // namespace fmnist
