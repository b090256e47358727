// Google Benchmark of each layer's forward and backward at batch 256 (float), and of the whole
// model's training step, single-threaded: the per-layer figures behind README's Performance section and the table of
// launch/bench.sh. Counters: "flop" the rate of the layer's nominal (Keras) work, "flop_per_call".
// Run: build/bench_nn_layers --benchmark_min_time=0.5  (quote ratios: the machines are noisy).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "fmnist/layers.hpp"
#include "fmnist/model.hpp"

namespace fmnist {
namespace {

constexpr int kBatch = 256;
// Nominal multiply-adds of one image's training step: forward 2,794,240, then dW of every layer
// and dX of every layer but the first (16.4 MFLOP per image).
constexpr double kStepMacsPerImage = 2 * 2794240.0 + 2794240.0 - 194688.0;

std::vector<float> random_vector(std::size_t size, float lo, float hi, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(size);
  for (float& x : v) x = dist(rng);
  return v;
}

struct ConvCase {
  ConvShape shape;
  bool need_dx;
};

// index: 0 conv2d, 1 conv2d_1, 2 conv2d_2
ConvCase conv_case(std::int64_t index) {
  static const ConvCase cases[] = {{{28, 28, 1, 32}, false}, {{13, 13, 32, 64}, true},
                                   {{5, 5, 64, 64}, true}};
  return cases[index];
}

// Nominal multiply-adds of a 3x3 convolution over n images (every output pixel).
double conv_macs(const ConvShape& s, int n) { return double(n) * s.out_h() * s.out_w() * s.out_c * 9.0 * s.in_c; }

// FLOP per call: forward 2 * macs; backward 2 * macs for dW plus 2 * macs for dX when needed.
void set_flop(benchmark::State& state, double macs, bool backward, bool need_dx) {
  const double flop = 2 * macs * (backward ? (need_dx ? 2 : 1) : 1);
  state.counters["flop"] = benchmark::Counter(flop, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["flop_per_call"] = flop;
}

void conv_benchmark(benchmark::State& state, bool backward) {
  const ConvCase c = conv_case(state.range(0));
  const ConvShape& s = c.shape;
  const auto x = random_vector(kBatch * s.in_size(), 0, 1, 1);
  const auto kernel = random_vector(s.kernel_size(), -0.1f, 0.1f, 2);
  const auto bias = random_vector(s.out_c, -0.1f, 0.1f, 3);
  const auto dy_init = random_vector(kBatch * s.out_size(), -1, 1, 4);
  std::vector<float> dkernel(kernel.size()), dbias(bias.size()), y(dy_init.size()), dy(dy_init);
  std::vector<float> dx(x.size());
  Conv2D<float> conv(s, Activation::relu, kBatch, c.need_dx, kernel.data(), bias.data(), dkernel.data(), dbias.data());
  conv.forward(x.data(), y.data(), kBatch);
  for (auto _ : state) {
    if (backward) {
      state.PauseTiming();
      std::copy(dy_init.begin(), dy_init.end(), dy.begin());  // backward masks dy in place
      state.ResumeTiming();
      conv.backward(x.data(), y.data(), dy.data(), c.need_dx ? dx.data() : nullptr, kBatch);
    } else {
      conv.forward(x.data(), y.data(), kBatch);
    }
    benchmark::ClobberMemory();
  }
  set_flop(state, conv_macs(s, kBatch), backward, c.need_dx);
}

void BM_Conv2DForward(benchmark::State& state) { conv_benchmark(state, false); }
void BM_Conv2DBackward(benchmark::State& state) { conv_benchmark(state, true); }
BENCHMARK(BM_Conv2DForward)->DenseRange(0, 2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Conv2DBackward)->DenseRange(0, 2)->Unit(benchmark::kMillisecond);

// Conv2D fused with MaxPool2D, as the model runs them. index: 0 conv2d + max_pooling2d,
// 1 conv2d_1 + max_pooling2d_1. The flop counter is the nominal work of the unfused pair's
// convolution (conv2d_1 computes only the 100 of its 121 output pixels that pooling reads).
void conv_pool_benchmark(benchmark::State& state, bool backward) {
  const ConvCase c = conv_case(state.range(0));
  const ConvShape& s = c.shape;
  const std::size_t pooled = std::size_t(s.out_h() / 2) * (s.out_w() / 2) * s.out_c;
  const auto x = random_vector(kBatch * s.in_size(), 0, 1, 1);
  const auto kernel = random_vector(s.kernel_size(), -0.1f, 0.1f, 2);
  const auto bias = random_vector(s.out_c, -0.1f, 0.1f, 3);
  auto dy = random_vector(kBatch * pooled, -1, 1, 4);  // (not modified by this layer's backward)
  std::vector<float> dkernel(kernel.size()), dbias(bias.size()), y(dy.size()), dx(x.size());
  Conv2DPool<float> conv(s, kBatch, c.need_dx, kernel.data(), bias.data(), dkernel.data(), dbias.data());
  conv.forward(x.data(), y.data(), kBatch);
  for (auto _ : state) {
    if (backward) {
      conv.backward(x.data(), y.data(), dy.data(), c.need_dx ? dx.data() : nullptr, kBatch);
    } else {
      conv.forward(x.data(), y.data(), kBatch);
    }
    benchmark::ClobberMemory();
  }
  set_flop(state, conv_macs(s, kBatch), backward, c.need_dx);
}

void BM_Conv2DPoolForward(benchmark::State& state) { conv_pool_benchmark(state, false); }
void BM_Conv2DPoolBackward(benchmark::State& state) { conv_pool_benchmark(state, true); }
BENCHMARK(BM_Conv2DPoolForward)->DenseRange(0, 1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Conv2DPoolBackward)->DenseRange(0, 1)->Unit(benchmark::kMillisecond);

// The generic MaxPooling2D 2x2 stride 2 (the model fuses these; a spec that cannot fuse runs them).
// index: 0 max_pooling2d (26x26x32), 1 max_pooling2d_1 (11x11x64)
void pool_benchmark(benchmark::State& state, bool backward) {
  const int h = state.range(0) == 0 ? 26 : 11, c = state.range(0) == 0 ? 32 : 64;
  const ConvShape s{h, h, c, c, 2, 2, 2, 2, Padding::valid};
  const auto x = random_vector(std::size_t(kBatch) * h * h * c, -1, 1, 5);
  std::vector<float> y(std::size_t(kBatch) * s.out_size()), dx(x.size());
  MaxPool2D<float> pool(s, kBatch);
  pool.forward(x.data(), y.data(), kBatch);
  for (auto _ : state) {
    if (backward) {
      pool.backward(x.data(), y.data(), y.data(), dx.data(), kBatch);
    } else {
      pool.forward(x.data(), y.data(), kBatch);
    }
    benchmark::ClobberMemory();
  }
}

void BM_MaxPool2DForward(benchmark::State& state) { pool_benchmark(state, false); }
void BM_MaxPool2DBackward(benchmark::State& state) { pool_benchmark(state, true); }
BENCHMARK(BM_MaxPool2DForward)->DenseRange(0, 1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MaxPool2DBackward)->DenseRange(0, 1)->Unit(benchmark::kMillisecond);

// index: 0 dense (576 -> 64, relu), 1 dense_1 (64 -> 10)
void dense_benchmark(benchmark::State& state, bool backward) {
  const int in = state.range(0) == 0 ? 576 : 64, out = state.range(0) == 0 ? 64 : 10;
  const bool relu = state.range(0) == 0;
  const auto x = random_vector(std::size_t(kBatch) * in, 0, 1, 6);
  const auto kernel = random_vector(std::size_t(in) * out, -0.1f, 0.1f, 7);
  const auto bias = random_vector(out, -0.1f, 0.1f, 8);
  const auto dy_init = random_vector(std::size_t(kBatch) * out, -1, 1, 9);
  std::vector<float> dkernel(kernel.size()), dbias(bias.size()), y(dy_init.size()), dy(dy_init);
  std::vector<float> dx(x.size());
  Dense<float> dense(in, out, relu ? Activation::relu : Activation::linear, kernel.data(), bias.data(), dkernel.data(),
                     dbias.data());
  dense.forward(x.data(), y.data(), kBatch);
  for (auto _ : state) {
    if (backward) {
      std::copy(dy_init.begin(), dy_init.end(), dy.begin());
      dense.backward(x.data(), y.data(), dy.data(), dx.data(), kBatch);
    } else {
      dense.forward(x.data(), y.data(), kBatch);
    }
    benchmark::ClobberMemory();
  }
  set_flop(state, double(kBatch) * in * out, backward, true);
}

void BM_DenseForward(benchmark::State& state) { dense_benchmark(state, false); }
void BM_DenseBackward(benchmark::State& state) { dense_benchmark(state, true); }
BENCHMARK(BM_DenseForward)->DenseRange(0, 1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DenseBackward)->DenseRange(0, 1)->Unit(benchmark::kMicrosecond);

// The whole training step of one rank: forward, loss and backward of 256 images of the tutorial's model.
void BM_ModelStep(benchmark::State& state) {
  Model<float> model(tutorial_model_spec(), kBatch);
  model.init(1);
  const auto x = random_vector(std::size_t(kBatch) * 28 * 28, 0, 1, 10);
  std::vector<std::uint8_t> labels(kBatch);
  for (int i = 0; i < kBatch; ++i) labels[i] = std::uint8_t(i % 10);
  for (auto _ : state) {
    benchmark::DoNotOptimize(model.accumulate_gradients(x.data(), labels.data(), kBatch, {}));
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  set_flop(state, kStepMacsPerImage * kBatch, false, false);
}
BENCHMARK(BM_ModelStep)->Unit(benchmark::kMillisecond);

void BM_ModelEvaluate(benchmark::State& state) {
  Model<float> model(tutorial_model_spec(), kBatch);
  model.init(1);
  const auto x = random_vector(std::size_t(kBatch) * 28 * 28, 0, 1, 11);
  std::vector<std::uint8_t> labels(kBatch, 3);
  for (auto _ : state) {
    benchmark::DoNotOptimize(model.evaluate(x.data(), labels.data(), kBatch));
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_ModelEvaluate)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace fmnist

BENCHMARK_MAIN();
