// The machine's GEMM ceiling, measured on the spot: Eigen single-precision row-major C = A . B,
// one thread, at 2048^3 and at conv2d_1's im2col shape (30976 x 288 by 288 x 64: 256 images of
// 11 x 11 pixels). launch/bench.sh runs one copy per core at once and sums them for the all-core
// ceiling. Counters: "flop" the rate, "flop_per_call" 2 * M * N * K.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC bug 105593, as in src/nn
#include <immintrin.h>
#include <Eigen/Core>
#pragma GCC diagnostic pop

#include <benchmark/benchmark.h>

namespace {

using MatrixRM = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// args: M, K, N
void BM_EigenGemm(benchmark::State& state) {
  const Eigen::Index m = state.range(0), k = state.range(1), n = state.range(2);
  const MatrixRM a = MatrixRM::Random(m, k), b = MatrixRM::Random(k, n);
  MatrixRM c(m, n);
  for (auto _ : state) {
    c.noalias() = a * b;
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  const double flop = 2.0 * double(m) * double(n) * double(k);
  state.counters["flop"] = benchmark::Counter(flop, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["flop_per_call"] = flop;
}
BENCHMARK(BM_EigenGemm)->Args({2048, 2048, 2048})->Args({30976, 288, 64})->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
