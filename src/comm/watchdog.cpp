// The stall watchdog (see watchdog.hpp). Per watched collective rank 0 sends one word to each
// rank and every other rank one word to rank 0, repeated every timeout/4 while they wait; the
// poll loop looks at the messages and the clock every 10 ms. On expiry the waiting rank prints
// whom it waited for and where, and ends the job with exit 6.
#include "watchdog.hpp"


#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "fmnist/error.hpp"
#include "mpi_check.hpp"

namespace fmnist {
namespace {

constexpr int kArrivedTag = 1;       // rank r to rank 0: "I entered collective s"
constexpr int kWordTag = 2;          // rank 0 to everyone: "I am in (or past) collective s"
constexpr int kHostTag = 3;          // host names at start-up: rank r to rank 0, rank 0 to rank r
constexpr double kLookEvery = 0.01;  // seconds between looks at the messages and the deadline
constexpr double kGrace = 5;         // seconds a rank waits for rank 0's verdict beyond the timeout
constexpr double kLostNodeSeconds = 15;  // above the ~10 s in which mpirun (launch/mpirun.sh) notices a lost node

int world_rank() {
  int r = 0;
  CHECK_MPI(MPI_Comm_rank(MPI_COMM_WORLD, &r));
  return r;
}

std::string where(const WatchPoint& at) {
  if (at.step < 0) return at.what;
  char text[200];
  std::snprintf(text, sizeof text, "%s step %lld (epoch %lld)", at.what, static_cast<long long>(at.step),
                static_cast<long long>(at.epoch));
  return text;
}

std::string host_text(const char* name) { return std::string(name, strnlen(name, MPI_MAX_PROCESSOR_NAME)); }

}  // namespace

Watchdog::Watchdog(double timeout) : rules_(world_rank(), {}, timeout, kGrace) {
  CHECK_MPI(MPI_Comm_rank(MPI_COMM_WORLD, &rank_));
  CHECK_MPI(MPI_Comm_size(MPI_COMM_WORLD, &size_));
  const std::size_t n = static_cast<std::size_t>(size_);
  int len = 0;
  CHECK_MPI(MPI_Get_processor_name(my_host_.data(), &len));
  rules_.set_host(rank_, host_text(my_host_.data()));
  out_.resize(n);
  const double now = clock_seconds();
  last_said_ = root_word_ = now;
  if (rank_ == 0) {
    host_texts_.assign(n * MPI_MAX_PROCESSOR_NAME, '\0');
    host_receives_.assign(n, MPI_REQUEST_NULL);
    host_sends_.assign(n, MPI_REQUEST_NULL);
    arrival_requests_.assign(n, MPI_REQUEST_NULL);
    arrival_values_.assign(n, 0);
    arrived_.assign(n, 0);
    heard_.assign(n, now);
    completed_.assign(n, 0);
    for (int r = 1; r < size_; ++r) {
      const std::size_t i = static_cast<std::size_t>(r);
      CHECK_MPI(MPI_Irecv(&host_texts_[i * MPI_MAX_PROCESSOR_NAME], MPI_MAX_PROCESSOR_NAME, MPI_CHAR, r, kHostTag,
                          MPI_COMM_WORLD, &host_receives_[i]));
      CHECK_MPI(MPI_Isend(my_host_.data(), MPI_MAX_PROCESSOR_NAME, MPI_CHAR, r, kHostTag, MPI_COMM_WORLD,
                          &host_sends_[i]));
      CHECK_MPI(MPI_Irecv(&arrival_values_[i], 1, MPI_INT64_T, r, kArrivedTag, MPI_COMM_WORLD, &arrival_requests_[i]));
    }
  } else {
    host_texts_.assign(MPI_MAX_PROCESSOR_NAME, '\0');
    host_receives_.assign(1, MPI_REQUEST_NULL);
    host_sends_.assign(1, MPI_REQUEST_NULL);
    CHECK_MPI(MPI_Irecv(host_texts_.data(), MPI_MAX_PROCESSOR_NAME, MPI_CHAR, 0, kHostTag, MPI_COMM_WORLD,
                        &host_receives_[0]));
    CHECK_MPI(MPI_Isend(my_host_.data(), MPI_MAX_PROCESSOR_NAME, MPI_CHAR, 0, kHostTag, MPI_COMM_WORLD,
                        &host_sends_[0]));
    CHECK_MPI(MPI_Irecv(&word_value_, 1, MPI_INT64_T, 0, kWordTag, MPI_COMM_WORLD, &word_request_));
  }
}

void Watchdog::set_timeout(double timeout) {
  rules_.set_timeout(timeout);
  drain_hosts();
  if (rank_ == 0 && timeout > 0 && timeout < kLostNodeSeconds && rules_.several_hosts())
    std::fprintf(stderr,
                 "fmnist_dist: note: --stall-timeout %g is below %g s on several hosts: mpirun takes about 10 s "
                 "to notice a lost node (launch/mpirun.sh), and should the watchdog abort first, Open MPI's abort "
                 "may wait minutes for a node that is cut off\n",
                 timeout, kLostNodeSeconds);
}

void Watchdog::send(int to, int tag, std::int64_t value) {
  for (Slot& slot : out_[static_cast<std::size_t>(to)]) {
    int done = 1;
    if (slot.request != MPI_REQUEST_NULL) CHECK_MPI(MPI_Test(&slot.request, &done, MPI_STATUS_IGNORE));
    if (!done) continue;
    slot.value = value;
    CHECK_MPI(MPI_Isend(&slot.value, 1, MPI_INT64_T, to, tag, MPI_COMM_WORLD, &slot.request));
    return;
  }
  // Both earlier words to this rank are still unsent: it is not reading; a third adds nothing.
}

void Watchdog::say_to_all(std::int64_t value, double now) {
  for (int r = 1; r < size_; ++r) send(r, kWordTag, value);
  last_said_ = now;
}

// Host names that have arrived: rank 0 learns every rank's, the others rank 0's.
void Watchdog::drain_hosts() {
  for (std::size_t i = 0; i < host_receives_.size(); ++i) {
    if (host_receives_[i] == MPI_REQUEST_NULL) continue;
    int done = 0;
    CHECK_MPI(MPI_Test(&host_receives_[i], &done, MPI_STATUS_IGNORE));
    if (!done) continue;
    const int from = rank_ == 0 ? static_cast<int>(i) : 0;
    rules_.set_host(from, host_text(&host_texts_[rank_ == 0 ? i * MPI_MAX_PROCESSOR_NAME : 0]));
  }
}

// Takes in every word that has arrived (several may be queued per sender) and re-posts the receives.
void Watchdog::drain(double now) {
  drain_hosts();
  if (rank_ == 0) {
    for (;;) {
      int count = 0;
      CHECK_MPI(MPI_Testsome(size_, arrival_requests_.data(), &count, completed_.data(), MPI_STATUSES_IGNORE));
      if (count == MPI_UNDEFINED || count == 0) return;
      for (int i = 0; i < count; ++i) {
        const std::size_t r = static_cast<std::size_t>(completed_[static_cast<std::size_t>(i)]);
        arrived_[r] = std::max(arrived_[r], arrival_values_[r]);
        heard_[r] = now;
        CHECK_MPI(MPI_Irecv(&arrival_values_[r], 1, MPI_INT64_T, static_cast<int>(r), kArrivedTag, MPI_COMM_WORLD,
                            &arrival_requests_[r]));
      }
    }
  }
  while (word_request_ != MPI_REQUEST_NULL) {
    int done = 0;
    CHECK_MPI(MPI_Test(&word_request_, &done, MPI_STATUS_IGNORE));
    if (!done) return;
    root_word_ = now;
    if (word_value_ > root_seq_) {
      root_seq_ = word_value_;
      root_in_ = now;
    }
    CHECK_MPI(MPI_Irecv(&word_value_, 1, MPI_INT64_T, 0, kWordTag, MPI_COMM_WORLD, &word_request_));
  }
}

// One look during collective `seq`: repeats this rank's word when due and asks the rules.
void Watchdog::look(std::int64_t seq, double entered, double now, const WatchPoint& at) {
  drain(now);
  std::string verdict;
  if (rank_ == 0) {
    if (now - last_said_ >= rules_.word_interval()) say_to_all(seq, now);
    verdict = rules_.root_verdict(now, entered, arrived_, heard_, seq, where(at));
  } else {
    if (now - last_said_ >= rules_.word_interval()) {
      send(0, kArrivedTag, seq);
      last_said_ = now;
    }
    const double since_in = root_seq_ >= seq ? now - std::max(entered, root_in_) : -1.0;
    verdict = rules_.member_verdict(now - std::max(entered, root_word_), since_in, where(at));
  }
  if (!verdict.empty()) give_up(verdict);
}

void Watchdog::wait(MPI_Request& request, const WatchPoint& at) {
  const std::int64_t seq = ++seq_;
  last_ = at;
  if (!(rules_.timeout() > 0)) {
    CHECK_MPI(MPI_Wait(&request, MPI_STATUS_IGNORE));
    return;
  }
  double now = clock_seconds();
  const double entered = now;
  if (rank_ == 0) {
    say_to_all(seq, now);
  } else {
    send(0, kArrivedTag, seq);
    last_said_ = now;
  }
  double next_look = now + kLookEvery;
  for (;;) {
    int done = 0;
    CHECK_MPI(MPI_Test(&request, &done, MPI_STATUS_IGNORE));
    if (done) break;
    now = clock_seconds();
    if (now < next_look) continue;
    next_look = now + kLookEvery;
    look(seq, entered, now, at);
  }
  drain(clock_seconds());
}

void Watchdog::keep_alive() {
  if (rank_ != 0 || !(rules_.timeout() > 0)) return;
  const double now = clock_seconds();
  if (now - last_said_ < rules_.word_interval()) return;
  drain(now);
  say_to_all(seq_, now);
}

WatchPoint Watchdog::end_point() const {
  if (last_.step < 0) return WatchPoint{"at the end of the run"};
  return WatchPoint{"at the end of the run, after", last_.step, last_.epoch};
}

void Watchdog::close() {
  const auto cancel = [](MPI_Request& r) {
    if (r == MPI_REQUEST_NULL) return;
    CHECK_MPI(MPI_Cancel(&r));
    CHECK_MPI(MPI_Wait(&r, MPI_STATUS_IGNORE));
  };
  for (MPI_Request& r : arrival_requests_) cancel(r);
  for (MPI_Request& r : host_receives_) cancel(r);
  cancel(word_request_);
  for (MPI_Request& r : host_sends_)
    if (r != MPI_REQUEST_NULL) CHECK_MPI(MPI_Request_free(&r));
  for (auto& slots : out_)
    for (Slot& slot : slots)
      if (slot.request != MPI_REQUEST_NULL) CHECK_MPI(MPI_Request_free(&slot.request));
}

void Watchdog::give_up(const std::string& message) const {
  std::fprintf(stderr, "fmnist_dist: %s\n", message.c_str());
  // MPI_Abort reaches the job's other processes through the launcher; should that path be cut
  // too, abort_job still ends this process.
  abort_job(static_cast<int>(Exit::stalled));
}

}  // namespace fmnist
