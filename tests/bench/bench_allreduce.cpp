// The per-step allreduce under mpirun, plain (--stall-timeout 0: MPI_Iallreduce + MPI_Wait) against
// watched (the stall watchdog's polled MPI_Iallreduce and its words to and from rank 0), on the real buffer size
// (the tutorial model's gradients and 5 statistics as int64). Rounds alternate the two so that both see the same
// noise; rank 0 prints one JSON line with the median milliseconds per call of each.
//   mpirun -np 2 build/bench_allreduce [ROUNDS] [CALLS_PER_ROUND]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "fmnist/comm.hpp"
#include "fmnist/model_spec.hpp"

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  using Clock = std::chrono::steady_clock;
  fmnist::Comm comm(&argc, &argv, 60);
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 20;
  const int calls = argc > 2 ? std::atoi(argv[2]) : 50;
  std::vector<std::int64_t> buffer(fmnist::plan_model(fmnist::tutorial_model_spec()).num_params + 5, 1);
  std::vector<double> plain, watched;
  for (int round = 0; round < rounds; ++round) {
    for (int kind = 0; kind < 2; ++kind) {
      std::int64_t sync = 0;
      comm.set_stall_timeout(60);
      comm.allreduce_sum(&sync, 1, fmnist::WatchPoint{"before the round"});
      comm.set_stall_timeout(kind == 0 ? 0 : 60);  // 0: the collective is completed by MPI_Wait
      const Clock::time_point t0 = Clock::now();
      for (int i = 0; i < calls; ++i) {
        comm.allreduce_sum(buffer.data(), buffer.size(), fmnist::WatchPoint{"at", i, round});
        std::fill(buffer.begin(), buffer.end(), 1);
      }
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count() / calls;
      (kind == 0 ? plain : watched).push_back(ms);
    }
  }
  if (comm.is_root())
    std::printf("{\"ranks\": %d, \"bytes\": %zu, \"plain_ms\": %.4f, \"watched_ms\": %.4f}\n", comm.size(),
                buffer.size() * sizeof(std::int64_t), median(plain), median(watched));
  return 0;
}
