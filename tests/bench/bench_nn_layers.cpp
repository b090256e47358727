// Google Benchmark of each layer's forward and backward at batch 256 (float), as the models run
// them, for the tutorial's model, the wide one (tests/fixtures/models/wide_tutorial.json) and the
// Conv2D -> BatchNormalization block (conv_bn_block.json, its convolutions and normalisations), the
// augmentation layers on 28x28x1, the depthwise, separable and dilated convolutions beside plain
// loops of the same maths, and of
// each model's whole training step (4 micro-batches of 64, as a rank of -np 2 trains), one thread:
// the per-layer figures behind docs/performance.md and the table of launch/bench.sh.
// Counters: "flop" the rate of the layer's nominal (Keras) work, "flop_per_call".
// Run: build/bench_nn_layers --benchmark_min_time=0.5  (quote ratios: the machines are noisy).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "fmnist/augment.hpp"
#include "fmnist/layers.hpp"
#include "fmnist/model.hpp"

namespace fmnist {
namespace {

constexpr int kBatch = 256;
constexpr int kMicroBatch = 64;

std::vector<float> random_vector(std::size_t size, float lo, float hi, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(size);
  for (float& x : v) x = dist(rng);
  return v;
}

ConvShape conv3x3(int h, int c, int out_c, Padding p) { return {h, h, c, out_c, 3, 3, 1, 1, p}; }
ConvShape pool2x2(const ConvShape& conv) { return {conv.out_h(), conv.out_w(), conv.out_c, conv.out_c, 2, 2, 2, 2}; }

struct ConvCase {
  ConvShape shape;
  bool need_dx;
};

// The Conv2D -> MaxPooling2D pairs, fused. index: 0 tutorial conv2d, 1 tutorial conv2d_1,
// 2 wide conv2d, 3 wide conv2d_1.
ConvCase fused_case(std::int64_t index) {
  static const ConvCase cases[] = {{conv3x3(28, 1, 32, Padding::valid), false},
                                   {conv3x3(13, 32, 64, Padding::valid), true},
                                   {conv3x3(28, 1, 64, Padding::same), false},
                                   {conv3x3(14, 64, 128, Padding::same), true}};
  return cases[index];
}

// The Conv2Ds without a pool. index: 0 tutorial conv2d_2, 1 wide conv2d_2; the Conv2D -> BatchNormalization
// block (tests/fixtures/models/conv_bn_block.json): 2 conv2d, 3 conv2d_1, 4 conv2d_2, 5 conv2d_3.
ConvCase conv_case(std::int64_t index) {
  static const ConvCase cases[] = {{conv3x3(5, 64, 64, Padding::valid), true},  {conv3x3(7, 128, 128, Padding::same), true},
                                   {conv3x3(28, 1, 32, Padding::same), false},  {conv3x3(28, 32, 32, Padding::same), true},
                                   {conv3x3(14, 32, 64, Padding::same), true}, {conv3x3(14, 64, 64, Padding::same), true}};
  return cases[index];
}

// Nominal multiply-adds of a convolution over n images (every output pixel).
double conv_macs(const ConvShape& s, int n) { return double(n) * s.out_h() * s.out_w() * s.out_c * double(s.patch()); }

// FLOP per call: forward 2 * macs; backward 2 * macs for dW plus 2 * macs for dX when needed.
void set_flop(benchmark::State& state, double macs, bool backward, bool need_dx) {
  const double flop = 2 * macs * (backward ? (need_dx ? 2 : 1) : 1);
  state.counters["flop"] = benchmark::Counter(flop, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["flop_per_call"] = flop;
}

// Runs a layer's forward or backward over fixed data; backward gets a fresh copy of dy each time
// (outside the timing), as some layers overwrite it.
void run_layer(benchmark::State& state, Layer<float>& layer, std::size_t in_size, std::size_t out_size, bool backward,
               bool need_dx, const DropoutContext* train = nullptr) {
  const auto x = random_vector(kBatch * in_size, 0, 1, 1);
  const auto dy_init = random_vector(kBatch * out_size, -1, 1, 4);
  std::vector<float> y(dy_init.size()), dy(dy_init), dx(x.size());
  layer.forward(x.data(), y.data(), kBatch, train);
  for (auto _ : state) {
    if (backward) {
      state.PauseTiming();
      std::copy(dy_init.begin(), dy_init.end(), dy.begin());
      state.ResumeTiming();
      layer.backward(x.data(), y.data(), dy.data(), need_dx ? dx.data() : nullptr, kBatch);
    } else {
      layer.forward(x.data(), y.data(), kBatch, train);
    }
    benchmark::ClobberMemory();
  }
}

// The flop counter of a fused pair is the nominal work of the unfused convolution.
void conv_pool_benchmark(benchmark::State& state, bool backward) {
  const ConvCase c = fused_case(state.range(0));
  const ConvShape& s = c.shape;
  const auto kernel = random_vector(s.kernel_size(), -0.1f, 0.1f, 2);
  const auto bias = random_vector(s.out_c, -0.1f, 0.1f, 3);
  std::vector<float> dkernel(kernel.size()), dbias(bias.size());
  Conv2DPool<float> layer(s, pool2x2(s), Activation::relu, kBatch, c.need_dx, kernel.data(), bias.data(),
                          dkernel.data(), dbias.data());
  run_layer(state, layer, s.in_size(), pool2x2(s).out_size(), backward, c.need_dx);
  set_flop(state, conv_macs(s, kBatch), backward, c.need_dx);
}

void BM_Conv2DPoolForward(benchmark::State& state) { conv_pool_benchmark(state, false); }
void BM_Conv2DPoolBackward(benchmark::State& state) { conv_pool_benchmark(state, true); }
BENCHMARK(BM_Conv2DPoolForward)->DenseRange(0, 3)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Conv2DPoolBackward)->DenseRange(0, 3)->Unit(benchmark::kMillisecond);

void conv_benchmark(benchmark::State& state, bool backward) {
  const ConvCase c = conv_case(state.range(0));
  const ConvShape& s = c.shape;
  const auto kernel = random_vector(s.kernel_size(), -0.1f, 0.1f, 2);
  const auto bias = random_vector(s.out_c, -0.1f, 0.1f, 3);
  std::vector<float> dkernel(kernel.size()), dbias(bias.size());
  Conv2D<float> layer(s, Activation::relu, kBatch, c.need_dx, kernel.data(), bias.data(), dkernel.data(), dbias.data());
  run_layer(state, layer, s.in_size(), s.out_size(), backward, c.need_dx);
  set_flop(state, conv_macs(s, kBatch), backward, c.need_dx);
}

void BM_Conv2DForward(benchmark::State& state) { conv_benchmark(state, false); }
void BM_Conv2DBackward(benchmark::State& state) { conv_benchmark(state, true); }
BENCHMARK(BM_Conv2DForward)->DenseRange(0, 5)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Conv2DBackward)->DenseRange(0, 5)->Unit(benchmark::kMillisecond);

// BatchNormalization in training over (256, h, w, c), as the model runs it: forward is the batch's
// sums, the statistics and the normalisation; backward the gradient's sums, their totals and dx.
// index: 0 after the block's 28x28x32 convolutions, 1 after its 14x14x64 ones.
void batch_norm_benchmark(benchmark::State& state, bool backward) {
  const int side = state.range(0) == 0 ? 28 : 14, c = state.range(0) == 0 ? 32 : 64;
  const std::size_t pixels = std::size_t(side) * side, size = kBatch * pixels * c;
  std::vector<float> gamma(c, 1.0f), beta(c, 0.0f), mean(c, 0.0f), var(c, 1.0f), dgamma(c), dbeta(c);
  BatchNorm<float> norm(c, pixels, 0.99, 1e-3, false, gamma.data(), beta.data(), mean.data(), var.data(), dgamma.data(),
                        dbeta.data());
  const auto x = random_vector(size, 0, 1, 1), dy = random_vector(size, -1, 1, 4);
  std::vector<float> y(size), dx(size);
  std::vector<double> sums(2 * std::size_t(c));
  const DropoutContext train{};
  for (auto _ : state) {
    std::fill(sums.begin(), sums.end(), 0.0);
    if (backward) {
      norm.backward_sums(x.data(), y.data(), dy.data(), kBatch, sums.data());
      norm.set_backward(sums.data(), double(kBatch) * double(pixels));
      norm.backward_with(x.data(), y.data(), dy.data(), dx.data(), kBatch, sums.data());
    } else {
      norm.batch_sums(x.data(), kBatch, sums.data());
      norm.set_batch(sums.data(), double(kBatch) * double(pixels), false);
      norm.forward(x.data(), y.data(), kBatch, &train);
    }
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * std::int64_t(size * sizeof(float)));
}

void BM_BatchNormForward(benchmark::State& state) { batch_norm_benchmark(state, false); }
void BM_BatchNormBackward(benchmark::State& state) { batch_norm_benchmark(state, true); }
BENCHMARK(BM_BatchNormForward)->DenseRange(0, 1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_BatchNormBackward)->DenseRange(0, 1)->Unit(benchmark::kMillisecond);

// The generic MaxPooling2D 2x2 stride 2 (the models fuse theirs; a spec that cannot fuse runs it).
// index: 0 over 26x26x32, 1 over 11x11x64
void pool_benchmark(benchmark::State& state, bool backward) {
  const int h = state.range(0) == 0 ? 26 : 11, c = state.range(0) == 0 ? 32 : 64;
  const ConvShape s{h, h, c, c, 2, 2, 2, 2, Padding::valid};
  MaxPool2D<float> pool(s, kBatch);
  run_layer(state, pool, s.in_size(), s.out_size(), backward, true);
}

void BM_MaxPool2DForward(benchmark::State& state) { pool_benchmark(state, false); }
void BM_MaxPool2DBackward(benchmark::State& state) { pool_benchmark(state, true); }
BENCHMARK(BM_MaxPool2DForward)->DenseRange(0, 1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MaxPool2DBackward)->DenseRange(0, 1)->Unit(benchmark::kMillisecond);

// index: 0 tutorial dense (576 -> 64, relu), 1 tutorial dense_1 (64 -> 10), 2 wide dense (6272 ->
// 128, relu), 3 wide dense_1 (128 -> 10)
void dense_benchmark(benchmark::State& state, bool backward) {
  static const int shapes[][2] = {{576, 64}, {64, 10}, {6272, 128}, {128, 10}};
  const int in = shapes[state.range(0)][0], out = shapes[state.range(0)][1];
  const bool relu = out != 10;
  const auto kernel = random_vector(std::size_t(in) * out, -0.1f, 0.1f, 7);
  const auto bias = random_vector(out, -0.1f, 0.1f, 8);
  std::vector<float> dkernel(kernel.size()), dbias(bias.size());
  Dense<float> dense(in, out, relu ? Activation::relu : Activation::linear, kernel.data(), bias.data(), dkernel.data(),
                     dbias.data());
  run_layer(state, dense, in, out, backward, true);
  set_flop(state, double(kBatch) * in * out, backward, true);
}

void BM_DenseForward(benchmark::State& state) { dense_benchmark(state, false); }
void BM_DenseBackward(benchmark::State& state) { dense_benchmark(state, true); }
BENCHMARK(BM_DenseForward)->DenseRange(0, 3)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DenseBackward)->DenseRange(0, 3)->Unit(benchmark::kMicrosecond);

// The wide model's Dropouts in training. index: 0 dropout (7x7x128, rate 0.25), 1 dropout_1 (128, 0.5)
void dropout_benchmark(benchmark::State& state, bool backward) {
  const std::size_t size = state.range(0) == 0 ? 6272 : 128;
  Dropout<float> dropout(state.range(0) == 0 ? 0.25 : 0.5, size, 5, kBatch);
  const DropoutContext at{1, 2, 3};
  run_layer(state, dropout, size, size, backward, true, &at);
}

void BM_DropoutForward(benchmark::State& state) { dropout_benchmark(state, false); }
void BM_DropoutBackward(benchmark::State& state) { dropout_benchmark(state, true); }
BENCHMARK(BM_DropoutForward)->DenseRange(0, 1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DropoutBackward)->DenseRange(0, 1)->Unit(benchmark::kMicrosecond);

// The augmentation layers in training on 28x28x1 images. index: 0 RandomFlip horizontal_and_vertical,
// 1 RandomTranslation 0.1, 2 RandomRotation 0.1, 3 RandomZoom 0.1 (reflect, bilinear).
void augment_benchmark(benchmark::State& state, bool backward) {
  static const LayerKind kinds[] = {LayerKind::random_flip, LayerKind::random_translation, LayerKind::random_rotation,
                                    LayerKind::random_zoom};
  LayerSpec l;
  l.kind = kinds[state.range(0)];
  l.name = keras_name(l.kind);
  l.augment.height = l.augment.width = {-0.1, 0.1};
  Augment<float> layer(l, {28, 28, 1}, 0, kBatch);
  const DropoutContext at{1, 2, 3};
  run_layer(state, layer, 784, 784, backward, true, &at);
}

void BM_AugmentForward(benchmark::State& state) { augment_benchmark(state, false); }
void BM_AugmentBackward(benchmark::State& state) { augment_benchmark(state, true); }
BENCHMARK(BM_AugmentForward)->DenseRange(0, 3)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_AugmentBackward)->DenseRange(0, 3)->Unit(benchmark::kMicrosecond);

// ---- Depthwise, separable and dilated convolutions, each against a plain loop -------------------

// The cases, per-rank batch 256. index: 0 depthwise 28x28x32 3x3 same (a MobileNet block on these
// images), 1 depthwise 14x14x64 3x3 same, 2 depthwise 13x13x16 3x3 valid, depth_multiplier 2,
// dilation 2; the separable layer is the depthwise one followed by a pointwise step to 64 filters.
struct DepthwiseBench {
  ConvShape shape;  // out_c = in_c * dm
  int dm;
};
DepthwiseBench depthwise_case(std::int64_t index) {
  static const DepthwiseBench cases[] = {{{28, 28, 32, 32, 3, 3, 1, 1, Padding::same}, 1},
                                         {{14, 14, 64, 64, 3, 3, 1, 1, Padding::same}, 1},
                                         {{13, 13, 16, 32, 3, 3, 1, 1, Padding::valid, 2, 2}, 2}};
  return cases[index];
}

// The plain loops (NHWC, bounds checked per tap, the channels innermost), as one would first write
// them: y (n, out) = relu(depthwise(x) + bias); backward dy masked, dbias, dkernel and dx.
struct PlainDepthwise {
  ConvShape s;
  int dm;
  template <typename F>
  void each_tap(int n, F&& f) const {  // f(pixel index, input pixel index, tap index)
    for (int b = 0; b < n; ++b)
      for (int oh = 0; oh < s.out_h(); ++oh)
        for (int ow = 0; ow < s.out_w(); ++ow)
          for (int i = 0; i < s.kernel_h; ++i)
            for (int j = 0; j < s.kernel_w; ++j) {
              const int ih = oh * s.stride_h - s.pad_top() + i * s.dilation_h;
              const int iw = ow * s.stride_w - s.pad_left() + j * s.dilation_w;
              if (ih < 0 || ih >= s.in_h || iw < 0 || iw >= s.in_w) continue;
              f((std::size_t(b) * s.out_h() + oh) * s.out_w() + ow, (std::size_t(b) * s.in_h + ih) * s.in_w + iw,
                i * s.kernel_w + j);
            }
  }
  void forward(const float* x, const float* k, const float* bias, float* y, int n) const {
    const std::size_t pixels = std::size_t(n) * s.out_h() * s.out_w();
    for (std::size_t p = 0; p < pixels; ++p) std::copy(bias, bias + s.out_c, y + p * s.out_c);
    each_tap(n, [&](std::size_t p, std::size_t q, int t) {
      for (int c = 0; c < s.out_c; ++c) y[p * s.out_c + c] += x[q * s.in_c + c / dm] * k[t * s.out_c + c];
    });
    for (std::size_t i = 0; i < pixels * s.out_c; ++i) y[i] = std::max(y[i], 0.0f);
  }
  void backward(const float* x, const float* k, const float* y, float* dy, float* dk, float* db, float* dx,
                int n) const {
    const std::size_t pixels = std::size_t(n) * s.out_h() * s.out_w();
    for (std::size_t i = 0; i < pixels * s.out_c; ++i) dy[i] = y[i] > 0 ? dy[i] : 0.0f;
    for (std::size_t p = 0; p < pixels; ++p)
      for (int c = 0; c < s.out_c; ++c) db[c] += dy[p * s.out_c + c];
    std::fill(dx, dx + n * s.in_size(), 0.0f);
    each_tap(n, [&](std::size_t p, std::size_t q, int t) {
      for (int c = 0; c < s.out_c; ++c) {
        dk[t * s.out_c + c] += x[q * s.in_c + c / dm] * dy[p * s.out_c + c];
        dx[q * s.in_c + c / dm] += k[t * s.out_c + c] * dy[p * s.out_c + c];
      }
    });
  }
};

// Nominal multiply-adds of a depthwise step over n images.
double depthwise_macs(const ConvShape& s, int n) {
  return double(n) * s.out_h() * s.out_w() * s.out_c * s.kernel_h * s.kernel_w;
}

void depthwise_benchmark(benchmark::State& state, bool backward) {
  const DepthwiseBench c = depthwise_case(state.range(0));
  const ConvShape& s = c.shape;
  const auto kernel = random_vector(std::size_t(s.kernel_h) * s.kernel_w * s.out_c, -0.3f, 0.3f, 2);
  const auto bias = random_vector(s.out_c, -0.1f, 0.1f, 3);
  std::vector<float> dkernel(kernel.size()), dbias(bias.size());
  DepthwiseConv2D<float> layer(s, c.dm, Activation::relu, kBatch, true, kernel.data(), bias.data(), dkernel.data(),
                               dbias.data());
  run_layer(state, layer, s.in_size(), s.out_size(), backward, true);
  set_flop(state, depthwise_macs(s, kBatch), backward, true);
}

void plain_depthwise_benchmark(benchmark::State& state, bool backward) {
  const DepthwiseBench c = depthwise_case(state.range(0));
  const PlainDepthwise plain{c.shape, c.dm};
  const ConvShape& s = c.shape;
  const auto x = random_vector(kBatch * s.in_size(), 0, 1, 1);
  const auto kernel = random_vector(std::size_t(s.kernel_h) * s.kernel_w * s.out_c, -0.3f, 0.3f, 2);
  const auto bias = random_vector(s.out_c, -0.1f, 0.1f, 3);
  const auto dy_init = random_vector(kBatch * s.out_size(), -1, 1, 4);
  std::vector<float> y(dy_init.size()), dy(dy_init), dx(x.size()), dk(kernel.size()), db(bias.size());
  plain.forward(x.data(), kernel.data(), bias.data(), y.data(), kBatch);
  for (auto _ : state) {
    if (backward) {
      state.PauseTiming();
      std::copy(dy_init.begin(), dy_init.end(), dy.begin());
      state.ResumeTiming();
      plain.backward(x.data(), kernel.data(), y.data(), dy.data(), dk.data(), db.data(), dx.data(), kBatch);
    } else {
      plain.forward(x.data(), kernel.data(), bias.data(), y.data(), kBatch);
    }
    benchmark::ClobberMemory();
  }
  set_flop(state, depthwise_macs(s, kBatch), backward, true);
}

void BM_DepthwiseForward(benchmark::State& state) { depthwise_benchmark(state, false); }
void BM_DepthwiseBackward(benchmark::State& state) { depthwise_benchmark(state, true); }
void BM_DepthwisePlainForward(benchmark::State& state) { plain_depthwise_benchmark(state, false); }
void BM_DepthwisePlainBackward(benchmark::State& state) { plain_depthwise_benchmark(state, true); }
BENCHMARK(BM_DepthwiseForward)->DenseRange(0, 2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DepthwisePlainForward)->DenseRange(0, 2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DepthwiseBackward)->DenseRange(0, 2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DepthwisePlainBackward)->DenseRange(0, 2)->Unit(benchmark::kMillisecond);

// SeparableConv2D: the depthwise case, then 64 filters; against the plain depthwise loop followed by
// a plain pointwise loop (pixel, filter, channel).
constexpr int kSeparableFilters = 64;

void separable_benchmark(benchmark::State& state, bool backward) {
  const DepthwiseBench c = depthwise_case(state.range(0));
  ConvShape s = c.shape;
  const int mid = s.out_c;
  s.out_c = kSeparableFilters;
  const auto depthwise = random_vector(std::size_t(s.kernel_h) * s.kernel_w * mid, -0.3f, 0.3f, 2);
  const auto pointwise = random_vector(std::size_t(mid) * s.out_c, -0.3f, 0.3f, 5);
  const auto bias = random_vector(s.out_c, -0.1f, 0.1f, 3);
  std::vector<float> dd(depthwise.size()), dp(pointwise.size()), db(bias.size());
  SeparableConv2D<float> layer(s, c.dm, Activation::relu, kBatch, true, depthwise.data(), pointwise.data(), bias.data(),
                               dd.data(), dp.data(), db.data());
  run_layer(state, layer, s.in_size(), s.out_size(), backward, true);
  const double pixels = double(kBatch) * s.out_h() * s.out_w();
  set_flop(state, depthwise_macs(c.shape, kBatch) + pixels * mid * s.out_c, backward, true);
}

void plain_separable_benchmark(benchmark::State& state) {  // forward only: the pointwise loop
  const DepthwiseBench c = depthwise_case(state.range(0));
  const PlainDepthwise plain{c.shape, c.dm};
  const ConvShape& s = c.shape;
  const int mid = s.out_c, filters = kSeparableFilters;
  const std::size_t pixels = std::size_t(kBatch) * s.out_h() * s.out_w();
  const auto x = random_vector(kBatch * s.in_size(), 0, 1, 1);
  const auto depthwise = random_vector(std::size_t(s.kernel_h) * s.kernel_w * mid, -0.3f, 0.3f, 2);
  const auto pointwise = random_vector(std::size_t(mid) * filters, -0.3f, 0.3f, 5);
  const std::vector<float> zero(mid, 0.0f);
  std::vector<float> z(pixels * mid), y(pixels * filters);
  for (auto _ : state) {
    plain.forward(x.data(), depthwise.data(), zero.data(), z.data(), kBatch);  // (its relu aside)
    for (std::size_t p = 0; p < pixels; ++p)
      for (int f = 0; f < filters; ++f) {
        float sum = 0;
        for (int k = 0; k < mid; ++k) sum += z[p * mid + k] * pointwise[std::size_t(k) * filters + f];
        y[p * filters + f] = std::max(sum, 0.0f);
      }
    benchmark::ClobberMemory();
  }
  set_flop(state, depthwise_macs(s, kBatch) + double(pixels) * mid * filters, false, false);
}

void BM_SeparableForward(benchmark::State& state) { separable_benchmark(state, false); }
void BM_SeparableBackward(benchmark::State& state) { separable_benchmark(state, true); }
void BM_SeparablePlainForward(benchmark::State& state) { plain_separable_benchmark(state); }
BENCHMARK(BM_SeparableForward)->DenseRange(0, 2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SeparablePlainForward)->DenseRange(0, 2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SeparableBackward)->DenseRange(0, 2)->Unit(benchmark::kMillisecond);

// A dilated Conv2D (14x14x32 -> 32, 3x3, dilation 2, same), against the undilated one of the same
// shape (the same work) and a plain loop.
ConvShape dilated_case(bool dilated) { return {14, 14, 32, 32, 3, 3, 1, 1, Padding::same, dilated ? 2 : 1, dilated ? 2 : 1}; }

void dilated_benchmark(benchmark::State& state, bool backward) {
  const ConvShape s = dilated_case(state.range(0) == 0);
  const auto kernel = random_vector(s.kernel_size(), -0.1f, 0.1f, 2);
  const auto bias = random_vector(s.out_c, -0.1f, 0.1f, 3);
  std::vector<float> dkernel(kernel.size()), dbias(bias.size());
  Conv2D<float> layer(s, Activation::relu, kBatch, true, kernel.data(), bias.data(), dkernel.data(), dbias.data());
  run_layer(state, layer, s.in_size(), s.out_size(), backward, true);
  set_flop(state, conv_macs(s, kBatch), backward, true);
}

void plain_dilated_benchmark(benchmark::State& state) {  // forward: pixel, tap, input channel, filter
  const ConvShape s = dilated_case(true);
  const auto x = random_vector(kBatch * s.in_size(), 0, 1, 1);
  const auto kernel = random_vector(s.kernel_size(), -0.1f, 0.1f, 2);
  std::vector<float> y(kBatch * s.out_size());
  for (auto _ : state) {
    std::fill(y.begin(), y.end(), 0.0f);
    for (int b = 0; b < kBatch; ++b)
      for (int oh = 0; oh < s.out_h(); ++oh)
        for (int ow = 0; ow < s.out_w(); ++ow) {
          float* out = y.data() + ((std::size_t(b) * s.out_h() + oh) * s.out_w() + ow) * s.out_c;
          for (int i = 0; i < 3; ++i)
            for (int j = 0; j < 3; ++j) {
              const int ih = oh - s.pad_top() + 2 * i, iw = ow - s.pad_left() + 2 * j;
              if (ih < 0 || ih >= s.in_h || iw < 0 || iw >= s.in_w) continue;
              const float* in = x.data() + ((std::size_t(b) * s.in_h + ih) * s.in_w + iw) * s.in_c;
              const float* k = kernel.data() + std::size_t(i * 3 + j) * s.in_c * s.out_c;
              for (int ci = 0; ci < s.in_c; ++ci)
                for (int co = 0; co < s.out_c; ++co) out[co] += in[ci] * k[ci * s.out_c + co];
            }
        }
    benchmark::ClobberMemory();
  }
  set_flop(state, conv_macs(s, kBatch), false, false);
}

// index: 0 dilated, 1 the same shape undilated.
void BM_DilatedForward(benchmark::State& state) { dilated_benchmark(state, false); }
void BM_DilatedBackward(benchmark::State& state) { dilated_benchmark(state, true); }
void BM_DilatedPlainForward(benchmark::State& state) { plain_dilated_benchmark(state); }
BENCHMARK(BM_DilatedForward)->DenseRange(0, 1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DilatedPlainForward)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DilatedBackward)->DenseRange(0, 1)->Unit(benchmark::kMillisecond);

// index: 0 the tutorial's model, 1 the wide one, 2 the Conv2D -> BatchNormalization block, 3 the
// residual recipe's (launch/recipe_resnet.json).
ModelSpec model_spec(std::int64_t index) {
  if (index == 0) return tutorial_model_spec();
  if (index == 3) return read_keras_json(FMNIST_LAUNCH "/recipe_resnet.json");
  return read_keras_json(index == 1 ? FMNIST_FIXTURES "/models/wide_tutorial.json"
                                    : FMNIST_FIXTURES "/models/conv_bn_block.json");
}

// Nominal multiply-adds of one image's training step: forward, then dW of every layer and dX of
// every layer but the first.
double step_macs_per_image(const ModelPlan& plan) {
  double forward = 0, first_layer = -1;
  for (std::size_t i = 0; i < plan.layers.size(); ++i) {
    const LayerPlan& lp = plan.layers[i];
    if (lp.tensors.empty()) continue;
    const std::size_t kernel = plan.tensors[lp.tensors[0]].size;
    const auto& out = lp.output_shape;
    const double macs = double(kernel) * (out.size() == 3 ? double(out[0]) * out[1] : 1.0);
    forward += macs;
    if (first_layer < 0) first_layer = macs;
  }
  return 3 * forward - first_layer;
}

// The training step of one rank of -np 2: forward, loss and backward of 256 images in micro-batches of 64.
void BM_ModelStep(benchmark::State& state) {
  Model<float> model(model_spec(state.range(0)), kMicroBatch);
  model.init(1);
  const auto x = random_vector(std::size_t(kBatch) * 28 * 28, 0, 1, 10);
  std::vector<std::uint8_t> labels(kBatch);
  for (int i = 0; i < kBatch; ++i) labels[i] = std::uint8_t(i % 10);
  for (auto _ : state) {
    for (int i0 = 0; i0 < kBatch; i0 += kMicroBatch) {
      const DropoutContext at{1, 0, i0};
      benchmark::DoNotOptimize(model.accumulate_gradients(x.data() + i0 * 784, labels.data() + i0, kMicroBatch, at));
    }
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  set_flop(state, step_macs_per_image(model.plan()) * kBatch, false, false);
}
BENCHMARK(BM_ModelStep)->DenseRange(0, 3)->Unit(benchmark::kMillisecond);

void BM_ModelEvaluate(benchmark::State& state) {
  Model<float> model(model_spec(state.range(0)), kBatch);
  model.init(1);
  const auto x = random_vector(std::size_t(kBatch) * 28 * 28, 0, 1, 11);
  std::vector<std::uint8_t> labels(kBatch, 3);
  for (auto _ : state) {
    benchmark::DoNotOptimize(model.evaluate(x.data(), labels.data(), kBatch));
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_ModelEvaluate)->DenseRange(0, 1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace fmnist

BENCHMARK_MAIN();
