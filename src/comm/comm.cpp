// Thin RAII layer over MPI_COMM_WORLD. Every call is checked (mpi_check.hpp) and holds mpi_lock_; MPI
// errors are fatal, so a lost peer ends the job instead of hanging it; collectives are non-blocking calls
// completed under the stall watchdog (watchdog.hpp), MPI_Init / MPI_Finalize under an MPI-free deadline
// (deadline.hpp), and the progress guard's thread (progress_guard.hpp) watches the time between calls.
#include "fmnist/comm.hpp"

#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <utility>

#include "deadline.hpp"
#include "fmnist/error.hpp"
#include "launch_status.hpp"
#include "mpi_check.hpp"
#include "progress_guard.hpp"
#include "watchdog.hpp"

namespace fmnist {
namespace {

constexpr double kDeadlineSlack = 5;  // seconds MPI_Init and MPI_Finalize get beyond the stall timeout

// "key=value" lines into pairs, in order.
std::vector<std::pair<std::string, std::string>> parse_lines(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const auto eq = line.find('=');
    out.emplace_back(line.substr(0, eq), eq == std::string::npos ? "" : line.substr(eq + 1));
  }
  return out;
}

double deadline_for(double stall_timeout) { return stall_timeout > 0 ? stall_timeout + kDeadlineSlack : 0; }

std::string seconds_text(double s) { return std::to_string(static_cast<long long>(std::ceil(s))) + " s"; }

// Completes a non-blocking collective: under the watchdog, or (one rank) at once. The first one to
// complete means that every rank has started: launch/mpirun.sh's launch deadline is met.
void complete(Watchdog* watchdog, MPI_Request& request, const WatchPoint& at) {
  if (watchdog) {
    watchdog->wait(request, at);
  } else {
    CHECK_MPI(MPI_Wait(&request, MPI_STATUS_IGNORE));
  }
  report_started();
}

using Lock = std::lock_guard<std::recursive_mutex>;

}  // namespace

Comm::Comm(int* argc, char*** argv, double stall_timeout) : deadline_(deadline_for(stall_timeout)) {
  prepare_launch_status();
  // The watched allreduce is Open MPI's MPI_Iallreduce (libnbc). For an in-place sum, or fewer
  // than 4 ranks, libnbc picks reduce-then-broadcast, two full transfers in a row; its reduce-
  // scatter + allgather (algorithm 3) is as fast as the blocking MPI_Allreduce here (docs/performance.md:
  // Scaling beyond one machine). A value the user set wins; other MPI libraries ignore it.
  setenv("OMPI_MCA_coll_libnbc_iallreduce_algorithm", "3", 0);
  int provided = MPI_THREAD_SINGLE;
  {
    const Deadline guard(deadline_, "fmnist_dist: " + launcher_rank_name() + ": MPI_Init has not completed in " +
                                        seconds_text(deadline_) +
                                        ": a process of the job did not start or stopped responding (--stall-timeout); "
                                        "aborting");
    CHECK_MPI(MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided));
  }
  CHECK_MPI(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL));
  CHECK_MPI(MPI_Comm_rank(MPI_COMM_WORLD, &rank_));
  CHECK_MPI(MPI_Comm_size(MPI_COMM_WORLD, &size_));
  if (size_ > 1) watchdog_ = std::make_unique<Watchdog>(stall_timeout);
  // Rank 0's guard says "still here" through the watchdog, if MPI lets a second thread call it.
  Watchdog* words = rank_ == 0 && provided >= MPI_THREAD_SERIALIZED ? watchdog_.get() : nullptr;
  guard_ = std::make_unique<ProgressGuard>(stall_timeout, "rank " + std::to_string(rank_) + " (" + host() + ")",
                                           mpi_lock_, words);
}

Comm::~Comm() {
  finish();
  guard_.reset();
  // Past the last collective nothing is left to checkpoint: should a rank stop responding now,
  // mpirun's SIGCONT + SIGTERM must end the others at once, not the training's stop handlers.
  std::signal(SIGTERM, SIG_DFL);
  std::signal(SIGINT, SIG_DFL);
  const Deadline guard(deadline_, "fmnist_dist: rank " + std::to_string(rank_) + " (" + host() +
                                      "): MPI_Finalize has not completed in " + seconds_text(deadline_) +
                                      ": another rank stopped responding at the end of the run (--stall-timeout); "
                                      "aborting");
  MPI_Finalize();
}

std::string Comm::host() const {
  const Lock lock(mpi_lock_);
  char name[MPI_MAX_PROCESSOR_NAME] = {};
  int len = 0;
  CHECK_MPI(MPI_Get_processor_name(name, &len));
  return std::string(name, static_cast<std::size_t>(std::max(0, len)));
}

void Comm::set_stall_timeout(double seconds) const {
  const Lock lock(mpi_lock_);
  deadline_ = deadline_for(seconds);
  guard_->set_timeout(seconds);
  if (watchdog_) watchdog_->set_timeout(seconds);
}

void Comm::broadcast(float* data, std::size_t n, const WatchPoint& at) const {
  const Lock lock(mpi_lock_);
  MPI_Request r;
  CHECK_MPI(MPI_Ibcast(data, mpi_count(n, "broadcast"), MPI_FLOAT, 0, MPI_COMM_WORLD, &r));
  complete(watchdog_.get(), r, at);
}
void Comm::broadcast(double* data, std::size_t n, const WatchPoint& at) const {
  const Lock lock(mpi_lock_);
  MPI_Request r;
  CHECK_MPI(MPI_Ibcast(data, mpi_count(n, "broadcast"), MPI_DOUBLE, 0, MPI_COMM_WORLD, &r));
  complete(watchdog_.get(), r, at);
}
void Comm::broadcast(std::int64_t* data, std::size_t n, const WatchPoint& at) const {
  const Lock lock(mpi_lock_);
  MPI_Request r;
  CHECK_MPI(MPI_Ibcast(data, mpi_count(n, "broadcast"), MPI_INT64_T, 0, MPI_COMM_WORLD, &r));
  complete(watchdog_.get(), r, at);
}
void Comm::broadcast(std::string& text, const WatchPoint& at) const {
  const Lock lock(mpi_lock_);
  std::int64_t n = static_cast<std::int64_t>(text.size());
  broadcast(&n, 1, at);
  text.resize(static_cast<std::size_t>(n));
  MPI_Request r;
  CHECK_MPI(MPI_Ibcast(text.data(), mpi_count(text.size(), "broadcast"), MPI_CHAR, 0, MPI_COMM_WORLD, &r));
  complete(watchdog_.get(), r, at);
}
void Comm::broadcast(std::vector<float>& data, const WatchPoint& at) const {
  const Lock lock(mpi_lock_);
  std::int64_t n = static_cast<std::int64_t>(data.size());
  broadcast(&n, 1, at);
  data.resize(static_cast<std::size_t>(n));
  broadcast(data.data(), data.size(), at);
}

void Comm::allreduce_sum(float* data, std::size_t n, const WatchPoint& at) const {
  const Lock lock(mpi_lock_);
  MPI_Request r;
  CHECK_MPI(MPI_Iallreduce(MPI_IN_PLACE, data, mpi_count(n, "allreduce"), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &r));
  complete(watchdog_.get(), r, at);
}
void Comm::allreduce_sum(double* data, std::size_t n, const WatchPoint& at) const {
  const Lock lock(mpi_lock_);
  MPI_Request r;
  CHECK_MPI(MPI_Iallreduce(MPI_IN_PLACE, data, mpi_count(n, "allreduce"), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD, &r));
  complete(watchdog_.get(), r, at);
}
void Comm::allreduce_sum(std::int64_t* data, std::size_t n, const WatchPoint& at) const {
  const Lock lock(mpi_lock_);
  MPI_Request r;
  CHECK_MPI(MPI_Iallreduce(MPI_IN_PLACE, data, mpi_count(n, "allreduce"), MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD, &r));
  complete(watchdog_.get(), r, at);
}

std::vector<std::string> Comm::gather(const std::string& text, const WatchPoint& at) const {
  const Lock lock(mpi_lock_);
  const int len = mpi_count(text.size(), "gather");
  std::vector<int> lens(rank_ == 0 ? static_cast<std::size_t>(size_) : 0);
  MPI_Request r;
  CHECK_MPI(MPI_Igather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, 0, MPI_COMM_WORLD, &r));
  complete(watchdog_.get(), r, at);
  std::vector<int> offsets(lens.size());
  std::size_t total = 0;
  for (std::size_t i = 0; i < lens.size(); ++i) {
    offsets[i] = mpi_count(total, "gather");
    total += static_cast<std::size_t>(lens[i]);
  }
  std::string all(total, '\0');
  CHECK_MPI(MPI_Igatherv(text.data(), len, MPI_CHAR, all.data(), lens.data(), offsets.data(), MPI_CHAR, 0,
                         MPI_COMM_WORLD, &r));
  complete(watchdog_.get(), r, at);
  std::vector<std::string> texts;
  for (std::size_t i = 0; i < lens.size(); ++i)
    texts.push_back(all.substr(static_cast<std::size_t>(offsets[i]), static_cast<std::size_t>(lens[i])));
  return texts;
}

void Comm::keep_alive() const {
  if (!watchdog_) return;
  const Lock lock(mpi_lock_);
  watchdog_->keep_alive();
}

int Comm::agree(int code, std::string& message, const WatchPoint& at) const {
  const Lock lock(mpi_lock_);
  int worst = code;
  MPI_Request r;
  CHECK_MPI(MPI_Iallreduce(MPI_IN_PLACE, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD, &r));
  complete(watchdog_.get(), r, at);
  if (worst == 0 || size_ == 1) return worst;
  // Every rank's message on rank 0; keep the first non-empty one.
  const std::vector<std::string> all = gather(code != 0 ? message : std::string(), at);
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (all[i].empty()) continue;
    message = i == 0 ? all[i] : "rank " + std::to_string(i) + ": " + all[i];
    break;
  }
  return worst;
}

std::string Comm::compare_with_root(const std::string& text, const WatchPoint& at) const {
  const Lock lock(mpi_lock_);
  std::string root_text = text;
  broadcast(root_text, at);
  std::string difference;
  const auto mine = parse_lines(text);
  const auto theirs = parse_lines(root_text);
  for (std::size_t i = 0; i < std::max(mine.size(), theirs.size()) && difference.empty(); ++i) {
    const std::string key = i < mine.size() ? mine[i].first : theirs[i].first;
    const std::string here = i < mine.size() ? mine[i].second : "(missing)";
    const std::string there = i < theirs.size() ? theirs[i].second : "(missing)";
    if (here != there || (i < theirs.size() && theirs[i].first != key))
      difference = key + " is " + here + " here but " + there + " on rank 0";
  }
  int code = difference.empty() ? 0 : 1;
  std::string message = difference;
  code = agree(code, message, at);
  if (code == 0) return "";
  // agree() put the first difference, with its rank, into rank 0's message; share it.
  broadcast(message, at);
  return message;
}

void Comm::finish() const {
  const Lock lock(mpi_lock_);
  if (finished_) return;
  finished_ = true;
  guard_->stop_words();
  if (!watchdog_) return;
  std::int64_t zero = 0;
  allreduce_sum(&zero, 1, watchdog_->end_point());
  watchdog_->close();
}

bool Comm::stdout_is_terminal() const {
  const bool under_launcher = std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_SIZE") || std::getenv("PMIX_RANK");
  return !under_launcher && isatty(STDOUT_FILENO);
}

void Comm::abort(int code) const {
  const Lock lock(mpi_lock_);
  abort_job(code);
}

}  // namespace fmnist
