// The progress guard's thread (see progress_guard.hpp). It calls MPI only with the main thread's
// lock taken by try_lock (the main thread is then outside MPI; MPI was initialised with
// MPI_THREAD_SERIALIZED), and never blocks on anything the main thread may hold: its message goes
// out with write(2), not stdio, whose lock a main thread stuck in a write would keep.
#include "progress_guard.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <utility>

#include "fmnist/error.hpp"
#include "launch_status.hpp"
#include "stall_rules.hpp"
#include "watchdog.hpp"

namespace fmnist {

ProgressGuard::ProgressGuard(double timeout, std::string name, std::recursive_mutex& mpi, Watchdog* watchdog)
    : timeout_(timeout), name_(std::move(name)), mpi_(mpi), watchdog_(watchdog) {
  have_cpu_clock_ = pthread_getcpuclockid(pthread_self(), &main_cpu_) == 0;
  if (!have_cpu_clock_) return;  // nothing to watch: no thread
  clock_gettime(main_cpu_, &last_cpu_);
  thread_ = std::thread([this] { run(); });
}

ProgressGuard::~ProgressGuard() {
  {
    const std::lock_guard lock(stop_mutex_);
    stopping_ = true;
  }
  stop_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool ProgressGuard::main_moved() {
  timespec now{};
  if (clock_gettime(main_cpu_, &now) != 0) return true;
  const bool moved = now.tv_sec != last_cpu_.tv_sec || now.tv_nsec != last_cpu_.tv_nsec;
  last_cpu_ = now;
  return moved;
}

void ProgressGuard::run() {
  ProgressRules rules(clock_seconds());
  const auto every = std::chrono::duration<double>(ProgressRules::kLookEvery);
  std::unique_lock stop_lock(stop_mutex_);
  while (!stop_.wait_for(stop_lock, every, [this] { return stopping_; })) {
    const double now = clock_seconds();
    bool moved = main_moved();
    std::unique_lock mpi(mpi_, std::try_to_lock);
    if (!mpi.owns_lock()) moved = true;  // inside an MPI call: the stall watchdog watches it
    rules.look(now, moved);
    const double timeout = timeout_;
    if (mpi.owns_lock() && watchdog_ && rules.keep_alive(now, timeout)) watchdog_->keep_alive();
    if (mpi.owns_lock()) mpi.unlock();
    if (rules.hung(now, timeout)) give_up(rules.still(now));
  }
}

void ProgressGuard::give_up(double still) const {
  char line[512];
  const int n = std::snprintf(line, sizeof line,
                              "fmnist_dist: %s: no progress for %.0f s outside the exchanges with the other ranks (a "
                              "read or write that does not return: a hung file system?); aborting\n",
                              name_.c_str(), std::floor(still));
  const ssize_t written = write(STDERR_FILENO, line, static_cast<std::size_t>(n > 0 ? std::min(n, 511) : 0));
  (void)written;
  report_verdict(static_cast<int>(Exit::stalled));
  _exit(static_cast<int>(Exit::stalled));
}

}  // namespace fmnist
