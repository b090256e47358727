// The only MPI-facing interface (README: How it computes): start-up and shut-down, the broadcast of the
// initial weights, the one in-place allreduce per step (watched against stalls), collective
// agreement on errors, and MPI_Abort for failures in mid-training. Nothing else includes <mpi.h>.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace fmnist {

// Where the training loop is, for the stall watchdog's message: "<what> step <step> (epoch <epoch>)".
struct WatchPoint {
  const char* what;  // "at", "in the evaluation after", ...
  std::int64_t step;
  std::int64_t epoch;
};

class Watchdog;

class Comm {
 public:
  Comm(int* argc, char*** argv);  // MPI_Init; errors on communicators are fatal (never a hang)
  ~Comm();                        // the watchdog's last collective (if started), MPI_Finalize
  Comm(const Comm&) = delete;
  Comm& operator=(const Comm&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == 0; }

  void broadcast(float* data, std::size_t n) const;  // from rank 0
  void broadcast(double* data, std::size_t n) const;
  void broadcast(std::int64_t* data, std::size_t n) const;
  void broadcast(std::string& text) const;
  void broadcast(std::vector<float>& data) const;    // resizes on the receivers

  void allreduce_sum(float* data, std::size_t n) const;  // in place
  void allreduce_sum(double* data, std::size_t n) const;
  void allreduce_sum(std::int64_t* data, std::size_t n) const;

  // The stall watchdog (README: When a rank stops responding). Collective; call it once. From then
  // on the watched calls wait at most `seconds` (0: off, as with one rank): then the ranks that
  // were waiting name whom they waited for and `at`, and the job ends with exit 6.
  void start_watchdog(double seconds) const;
  void watched_allreduce_sum(std::int64_t* data, std::size_t n, const WatchPoint& at) const;
  void watched_allreduce_sum(double* data, std::size_t n, const WatchPoint& at) const;
  // Rank 0, during work that only rank 0 does (evaluation, checkpoints): tells the ranks waiting
  // for it that it is alive, when that is due. Cheap enough to call once per micro-batch.
  void keep_alive() const;

  // Every rank passes its error code (0 = fine) and message. Returns the largest code on every
  // rank; on rank 0 `message` becomes the first non-empty message, prefixed "rank R: " when it
  // came from another rank.
  int agree(int code, std::string& message) const;

  // Every rank compares `text` with rank 0's (lines "key=value"); returns on every rank the
  // first difference as "rank R: key is X here but Y on rank 0", or "" when all agree.
  std::string compare_with_root(const std::string& text) const;

  // True when standard output is a terminal the user sees. Under mpirun it is a pseudo-terminal
  // even when mpirun's own output goes to a batch log, so there the answer is false.
  bool stdout_is_terminal() const;

  // Ends the whole job now with `code` (MPI_Abort): for failures on one rank in mid-training.
  [[noreturn]] void abort(int code) const;

 private:
  int rank_ = 0;
  int size_ = 1;
  // null while off; mutable like the MPI state behind every const call here
  mutable std::unique_ptr<Watchdog> watchdog_;
};

}  // namespace fmnist
