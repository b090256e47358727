// Thin RAII layer over MPI_COMM_WORLD. Every call is checked in one place (check_mpi); MPI
// errors are fatal (MPI_ERRORS_ARE_FATAL), so a lost peer ends the job instead of hanging it.
#include "fmnist/comm.hpp"

#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <utility>
#include <cstdio>
#include <sstream>

#include "fmnist/error.hpp"
#include "watchdog.hpp"

namespace fmnist {
namespace {

void check_mpi(int rc, const char* call, const char* file, int line) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  std::fprintf(stderr, "fmnist_dist: %s failed at %s:%d: %s\n", call, file, line, text);
  MPI_Abort(MPI_COMM_WORLD, static_cast<int>(Exit::internal));
}
#define CHECK_MPI(call) check_mpi((call), #call, __FILE__, __LINE__)

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

}  // namespace

Comm::Comm(int* argc, char*** argv) {
  // The watched allreduce is Open MPI's MPI_Iallreduce (libnbc). For an in-place sum, or fewer
  // than 4 ranks, libnbc picks reduce-then-broadcast, two full transfers in a row; its reduce-
  // scatter + allgather (algorithm 3) is as fast as the blocking MPI_Allreduce here (README:
  // Scaling beyond one machine). A value the user set wins; other MPI libraries ignore it.
  setenv("OMPI_MCA_coll_libnbc_iallreduce_algorithm", "3", 0);
  CHECK_MPI(MPI_Init(argc, argv));
  CHECK_MPI(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL));
  CHECK_MPI(MPI_Comm_rank(MPI_COMM_WORLD, &rank_));
  CHECK_MPI(MPI_Comm_size(MPI_COMM_WORLD, &size_));
}

Comm::~Comm() {
  if (watchdog_) watchdog_->finish();
  MPI_Finalize();
}

void Comm::broadcast(float* data, std::size_t n) const {
  CHECK_MPI(MPI_Bcast(data, static_cast<int>(n), MPI_FLOAT, 0, MPI_COMM_WORLD));
}
void Comm::broadcast(double* data, std::size_t n) const {
  CHECK_MPI(MPI_Bcast(data, static_cast<int>(n), MPI_DOUBLE, 0, MPI_COMM_WORLD));
}
void Comm::broadcast(std::int64_t* data, std::size_t n) const {
  CHECK_MPI(MPI_Bcast(data, static_cast<int>(n), MPI_INT64_T, 0, MPI_COMM_WORLD));
}
void Comm::broadcast(std::string& text) const {
  std::int64_t n = static_cast<std::int64_t>(text.size());
  broadcast(&n, 1);
  text.resize(static_cast<std::size_t>(n));
  CHECK_MPI(MPI_Bcast(text.data(), static_cast<int>(n), MPI_CHAR, 0, MPI_COMM_WORLD));
}
void Comm::broadcast(std::vector<float>& data) const {
  std::int64_t n = static_cast<std::int64_t>(data.size());
  broadcast(&n, 1);
  data.resize(static_cast<std::size_t>(n));
  broadcast(data.data(), data.size());
}

void Comm::allreduce_sum(float* data, std::size_t n) const {
  CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, data, static_cast<int>(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD));
}
void Comm::allreduce_sum(double* data, std::size_t n) const {
  CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, data, static_cast<int>(n), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD));
}

void Comm::allreduce_sum(std::int64_t* data, std::size_t n) const {
  CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, data, static_cast<int>(n), MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD));
}

void Comm::start_watchdog(double seconds) const {
  if (seconds > 0 && size_ > 1) watchdog_ = std::make_unique<Watchdog>(seconds);
}

void Comm::watched_allreduce_sum(std::int64_t* data, std::size_t n, const WatchPoint& at) const {
  if (!watchdog_) return allreduce_sum(data, n);
  watchdog_->allreduce(data, static_cast<int>(n), MPI_INT64_T, at);
}

void Comm::watched_allreduce_sum(double* data, std::size_t n, const WatchPoint& at) const {
  if (!watchdog_) return allreduce_sum(data, n);
  watchdog_->allreduce(data, static_cast<int>(n), MPI_DOUBLE, at);
}

void Comm::keep_alive() const {
  if (watchdog_) watchdog_->keep_alive();
}

int Comm::agree(int code, std::string& message) const {
  int worst = code;
  CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD));
  if (worst == 0 || size_ == 1) return worst;
  // Gather every rank's message on rank 0 and keep the first non-empty one.
  const int len = code != 0 ? static_cast<int>(message.size()) : 0;
  std::vector<int> lens(rank_ == 0 ? size_ : 0);
  CHECK_MPI(MPI_Gather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, 0, MPI_COMM_WORLD));
  std::vector<int> offsets(lens.size());
  std::string all;
  if (rank_ == 0) {
    int total = 0;
    for (int r = 0; r < size_; ++r) offsets[r] = std::exchange(total, total + lens[r]);
    all.resize(static_cast<std::size_t>(total));
  }
  CHECK_MPI(MPI_Gatherv(message.data(), len, MPI_CHAR, all.data(), lens.data(), offsets.data(), MPI_CHAR, 0,
                        MPI_COMM_WORLD));
  if (rank_ == 0) {
    for (int r = 0; r < size_; ++r) {
      if (lens[r] == 0) continue;
      const std::string text = all.substr(static_cast<std::size_t>(offsets[r]), static_cast<std::size_t>(lens[r]));
      message = r == 0 ? text : "rank " + std::to_string(r) + ": " + text;
      break;
    }
  }
  return worst;
}

std::string Comm::compare_with_root(const std::string& text) const {
  std::string root_text = text;
  broadcast(root_text);
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
  code = agree(code, message);
  if (code == 0) return "";
  // agree() put the first difference, with its rank, into rank 0's message; share it.
  broadcast(message);
  return message;
}

bool Comm::stdout_is_terminal() const {
  const bool under_launcher = std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_SIZE") || std::getenv("PMIX_RANK");
  return !under_launcher && isatty(STDOUT_FILENO);
}

void Comm::abort(int code) const {
  std::fflush(stdout);
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

}  // namespace fmnist
