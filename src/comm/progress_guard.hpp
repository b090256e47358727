// The progress guard (docs/clusters.md: When a rank stops responding): a thread that watches the main
// thread's CPU time, which the stall watchdog cannot, as it sees only the exchanges. On rank 0, while it
// moves, the thread says "still here" to the waiting ranks (a slow checkpoint write); on any rank, when it
// has not moved outside MPI for ProgressRules::hang_limit (a hung file system), it ends the process: exit 6.
#pragma once

#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <string>
#include <thread>

namespace fmnist {

class Watchdog;

class ProgressGuard {
 public:
  // Call from the main thread. `mpi`: the lock the main thread holds during every MPI call (Comm);
  // `watchdog`: rank 0's, through which the thread says "still here" (null: the thread never calls
  // MPI). `name`: "rank R (host)" for the message. A timeout of 0 turns the guard off.
  ProgressGuard(double timeout, std::string name, std::recursive_mutex& mpi, Watchdog* watchdog);
  ~ProgressGuard();  // stops and joins the thread
  ProgressGuard(const ProgressGuard&) = delete;
  ProgressGuard& operator=(const ProgressGuard&) = delete;

  void set_timeout(double timeout) { timeout_ = timeout; }
  // After the last collective: the thread says nothing more. Call with `mpi` held.
  void stop_words() { watchdog_ = nullptr; }

 private:
  void run();
  bool main_moved();  // the main thread used CPU time since the last call
  [[noreturn]] void give_up(double still) const;

  std::atomic<double> timeout_;
  std::string name_;
  std::recursive_mutex& mpi_;
  Watchdog* watchdog_;  // read and written only with mpi_ held
  clockid_t main_cpu_{};
  bool have_cpu_clock_ = false;
  timespec last_cpu_{};
  std::mutex stop_mutex_;
  std::condition_variable stop_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace fmnist
