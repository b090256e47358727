// The only MPI-facing interface (docs/computing.md): start-up and shut-down, the broadcasts
// of the start, the one in-place allreduce per step, collective agreement on errors, gathers, and
// MPI_Abort for failures in mid-training. Every collective is watched against stalls from right
// after MPI_Init to MPI_Finalize, and those two under an MPI-free deadline; a thread beside the main
// one ends a rank stuck outside them. Nothing else includes <mpi.h>.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace fmnist {

// Where the program is, for the stall watchdog's message: "<what>" outside the step loop ("in the
// broadcast of the initial weights"), else "<what> step <step> (epoch <epoch>)".
struct WatchPoint {
  const char* what;         // "in the start-up check of the options", "at", "in the evaluation after", ...
  std::int64_t step = -1;   // -1: no step to name
  std::int64_t epoch = -1;
};

class Watchdog;
class ProgressGuard;

class Comm {
 public:
  // MPI_Init, under a deadline of `stall_timeout` + 5 s (0: none); errors on communicators are fatal
  // (never a hang). The watchdog and the progress guard start here with `stall_timeout` (0: off),
  // read from the command line before the options are parsed and agreed (then set_stall_timeout).
  // The first collective that completes tells launch/mpirun.sh that the launch is over.
  Comm(int* argc, char*** argv, double stall_timeout);
  ~Comm();  // finish(), then MPI_Finalize under the same deadline
  Comm(const Comm&) = delete;
  Comm& operator=(const Comm&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == 0; }
  std::string host() const;  // MPI_Get_processor_name

  // The value the ranks agreed on (docs/clusters.md: When a rank stops responding): from now on every
  // collective waits at most `seconds` (0: off), then the ranks that were waiting name whom they
  // waited for and where, and the job ends with exit 6; a rank that makes no progress outside them
  // for 1.25 x `seconds` + 5 s ends itself with exit 6. Local; does not communicate.
  void set_stall_timeout(double seconds) const;

  // Every collective below is watched and names `at` when it stalls.
  void broadcast(float* data, std::size_t n, const WatchPoint& at) const;  // from rank 0
  void broadcast(double* data, std::size_t n, const WatchPoint& at) const;
  void broadcast(std::int64_t* data, std::size_t n, const WatchPoint& at) const;
  void broadcast(std::string& text, const WatchPoint& at) const;
  void broadcast(std::vector<float>& data, const WatchPoint& at) const;  // resizes on the receivers

  void allreduce_sum(float* data, std::size_t n, const WatchPoint& at) const;  // in place
  void allreduce_sum(double* data, std::size_t n, const WatchPoint& at) const;
  void allreduce_sum(std::int64_t* data, std::size_t n, const WatchPoint& at) const;

  // Every rank's `text` on rank 0, indexed by rank; an empty vector on the other ranks.
  std::vector<std::string> gather(const std::string& text, const WatchPoint& at) const;

  // Rank 0, during work that only rank 0 does (evaluation, checkpoints): tells the ranks waiting
  // for it that it is alive, when that is due. Cheap enough to call once per micro-batch. (The
  // progress guard also says it between these calls, while rank 0's main thread makes progress.)
  void keep_alive() const;

  // Every rank passes its error code (0 = fine) and message. Returns the largest code on every
  // rank; on rank 0 `message` becomes the first non-empty message, prefixed "rank R: " when it
  // came from another rank.
  int agree(int code, std::string& message, const WatchPoint& at) const;

  // Every rank compares `text` with rank 0's (lines "key=value"); returns on every rank the
  // first difference as "rank R: key is X here but Y on rank 0", or "" when all agree.
  std::string compare_with_root(const std::string& text, const WatchPoint& at) const;

  // The last watched collective (every rank reached the end), then the watchdog's messages are
  // dropped. Collective; called once (again: nothing), by ~Comm at the latest.
  void finish() const;

  // True when standard output is a terminal the user sees. Under mpirun it is a pseudo-terminal
  // even when mpirun's own output goes to a batch log, so there the answer is false.
  bool stdout_is_terminal() const;

  // Ends the whole job now with `code` (MPI_Abort; this process ends itself with `code` should
  // MPI_Abort not return within 10 s): for failures on one rank in mid-training.
  [[noreturn]] void abort(int code) const;

 private:
  int rank_ = 0;
  int size_ = 1;
  mutable double deadline_ = 0;  // for MPI_Finalize: the stall timeout + 5 s (0: none)
  // null with one rank; mutable like the MPI state behind every const call here
  mutable std::unique_ptr<Watchdog> watchdog_;
  mutable bool finished_ = false;
  // Held during every MPI call of the main thread; the progress guard's thread calls MPI only
  // when it can take it (MPI_THREAD_SERIALIZED).
  mutable std::recursive_mutex mpi_lock_;
  std::unique_ptr<ProgressGuard> guard_;
};

}  // namespace fmnist
