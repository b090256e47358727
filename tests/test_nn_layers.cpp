// Tests of each generic layer on its own, in every configuration a spec allows: Conv2D (kernel
// sizes, strides, valid/same padding, dilation, relu/linear, with and without bias) and Max/AvgPool2D
// (odd sizes, overlapping and strided windows, padding) against the naive references in float and
// double, and every layer's input and parameter gradients against central differences in double
// (Dropout with a fixed mask); Dropout's masks, Relu, and the loss's stability.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <vector>

#include "fmnist/layers.hpp"
#include "grad_check.hpp"
#include "layer_checks.hpp"
#include "naive_conv.hpp"
#include "packed_gemm.hpp"

namespace fmnist {
namespace {

using test::cast;
using test::check_layer_gradients;
using test::dot;
using test::expect_alignment_free;
using test::GradientChecker;
using test::max_rel_diff;
using test::random_vector;

ConvShape shape(int h, int w, int c, int out_c, std::array<int, 2> k, std::array<int, 2> s, Padding p,
                std::array<int, 2> d = {1, 1}) {
  return {h, w, c, out_c, k[0], k[1], s[0], s[1], p, d[0], d[1]};
}

// ---- Conv2D -------------------------------------------------------------------------------------

struct ConvCase {
  ConvShape s;
  Activation act;
  bool bias;
};

// The configurations a spec allows, on small odd shapes: kernel sizes, strides, padding.
std::vector<ConvCase> conv_cases() {
  std::vector<ConvCase> cases;
  for (Padding p : {Padding::valid, Padding::same}) {
    cases.push_back({shape(7, 6, 2, 3, {3, 3}, {1, 1}, p), Activation::relu, true});
    cases.push_back({shape(7, 6, 2, 3, {3, 3}, {2, 2}, p), Activation::linear, true});
    cases.push_back({shape(8, 7, 3, 2, {2, 3}, {2, 1}, p), Activation::relu, false});
    cases.push_back({shape(6, 7, 1, 4, {5, 5}, {1, 2}, p), Activation::linear, true});
    cases.push_back({shape(5, 5, 2, 3, {1, 1}, {3, 3}, p), Activation::relu, true});
    cases.push_back({shape(4, 5, 2, 2, {4, 4}, {3, 2}, p), Activation::linear, true});  // stride > 1 with even kernel
    cases.push_back({shape(9, 8, 2, 3, {3, 3}, {1, 1}, p, {2, 2}), Activation::relu, true});  // dilated
    cases.push_back({shape(10, 9, 3, 4, {2, 3}, {1, 1}, p, {3, 1}), Activation::linear, false});  // rows only
    cases.push_back({shape(8, 9, 1, 5, {3, 2}, {1, 1}, p, {1, 3}), Activation::relu, true});  // columns only
  }
  return cases;
}

std::string name(const ConvCase& c) {
  return "in " + std::to_string(c.s.in_h) + "x" + std::to_string(c.s.in_w) + "x" + std::to_string(c.s.in_c) + " k " +
         std::to_string(c.s.kernel_h) + "x" + std::to_string(c.s.kernel_w) + " s " + std::to_string(c.s.stride_h) +
         "x" + std::to_string(c.s.stride_w) + " d " + std::to_string(c.s.dilation_h) + "x" +
         std::to_string(c.s.dilation_w) + " " + keras_name(c.s.padding) + " " + keras_name(c.act) +
         (c.bias ? "" : " no bias");
}

template <typename T>
void check_conv_against_naive(const ConvCase& c, int n, int max_batch, double tolerance) {
  const ConvShape& s = c.s;
  std::mt19937_64 rng(7 + s.in_c + 10 * s.kernel_h);
  const auto x = random_vector(n * s.in_size(), rng);
  const auto kernel = random_vector(s.kernel_size(), rng, -0.3, 0.3);
  const auto bias = c.bias ? random_vector(s.out_c, rng, -0.2, 0.2) : std::vector<double>();
  const auto dy = random_vector(n * s.out_size(), rng);
  const test::NaiveConv conv{s, x, kernel, bias};
  SCOPED_TRACE(name(c));
  test::expect_conv_reference<T>(test::naive_conv_reference(conv, s, c.act, dy, n), s, x, kernel, bias, dy, n, tolerance,
                                 [&](const T* k, const T* b, T* dk, T* db) {
                                   return std::make_unique<Conv2D<T>>(s, c.act, max_batch, true, k, b, dk, db);
                                 });
}

TEST(Conv2D, EveryConfigurationMatchesNaive) {
  for (const ConvCase& c : conv_cases()) {
    check_conv_against_naive<double>(c, 3, 4, 1e-12);
    check_conv_against_naive<float>(c, 3, 4, 2e-5);
  }
}

TEST(Conv2D, TutorialShapesMatchNaive) {  // conv2d_2 as the model runs it, and the two fused shapes unfused
  for (const ConvShape& s : {ConvShape{28, 28, 1, 32}, ConvShape{13, 13, 32, 64}, ConvShape{5, 5, 64, 64}}) {
    check_conv_against_naive<float>({s, Activation::relu, true}, 10, 12, 2e-5);
    check_conv_against_naive<double>({s, Activation::relu, true}, 3, 3, 1e-12);
  }
}

TEST(Conv2D, ManyChunksMatchNaive) {  // several GEMM chunks, max_batch == n
  check_conv_against_naive<float>({ConvShape{5, 5, 64, 64}, Activation::relu, true}, 130, 130, 2e-5);
  check_conv_against_naive<float>({shape(14, 14, 16, 24, {3, 3}, {1, 1}, Padding::same, {2, 2}), Activation::relu, true},
                                  20, 20, 2e-5);
  check_conv_against_naive<float>({shape(9, 9, 4, 8, {3, 3}, {2, 2}, Padding::same), Activation::linear, true}, 70, 70,
                                  2e-5);
}

// The direct input gradient (stride 1, "same" padding, odd spans; conv2d.cpp) on the shapes of the
// Conv2D -> BatchNormalization block, on channel counts that are not a multiple of the vector lanes,
// a rectangular kernel, a 1x1 kernel (no padding) and a dilated one. The even spans and strides of
// conv_cases() take the GEMM path beside them.
TEST(Conv2D, DirectInputGradientMatchesNaive) {
  const ConvCase cases[] = {
      {shape(28, 28, 32, 32, {3, 3}, {1, 1}, Padding::same), Activation::relu, true},
      {shape(14, 14, 32, 64, {3, 3}, {1, 1}, Padding::same), Activation::relu, true},
      {shape(9, 11, 20, 37, {5, 3}, {1, 1}, Padding::same), Activation::linear, false},
      {shape(6, 5, 17, 19, {1, 1}, {1, 1}, Padding::same), Activation::relu, true},
      {shape(12, 10, 24, 40, {3, 3}, {1, 1}, Padding::same, {2, 3}), Activation::relu, true}};
  for (const ConvCase& c : cases) {
    check_conv_against_naive<float>(c, 3, 5, 2e-5);
    check_conv_against_naive<double>(c, 2, 2, 1e-12);
  }
}

// Winograd's F(4x4, 3x3) (src/nn/winograd.hpp) takes the 3x3 stride-1 "same" convolutions between
// >= 32 channels: against the naive sums on the residual recipe's 7x7x128 layer, outputs that are
// not a multiple of the 4x4 tiles, channel counts that are not a multiple of the lanes, and several
// passes of images (17 images: a pass holds 64 tiles, 16 images of 7x7, 7 of 9x11).
TEST(Conv2D, WinogradMatchesNaive) {
  const ConvCase cases[] = {{shape(7, 7, 128, 128, {3, 3}, {1, 1}, Padding::same), Activation::relu, true},
                            {shape(9, 11, 33, 40, {3, 3}, {1, 1}, Padding::same), Activation::linear, false},
                            {shape(5, 6, 32, 35, {3, 3}, {1, 1}, Padding::same), Activation::relu, true}};
  for (const ConvCase& c : cases) {
    check_conv_against_naive<float>(c, 17, 17, 2e-5);
    check_conv_against_naive<double>(c, 2, 2, 1e-12);
  }
}

// Winograd's backward is the gradient of its own steps (the transposed transforms and GEMMs): the
// gradients against central differences, and dW the same bytes whether dX is asked for or not.
TEST(Conv2D, WinogradGradientCheckAndNoInputGradient) {
  const ConvShape s = shape(4, 5, 32, 32, {3, 3}, {1, 1}, Padding::same);  // small: the loss's rounding
  const int n = 1;                                                           // noise stays below the check's
  std::mt19937_64 rng(5);
  auto x = random_vector(n * s.in_size(), rng);
  std::vector<double> params = random_vector(s.kernel_size() + s.out_c, rng, -0.25, 0.25);
  std::vector<double> grads(params.size());
  Conv2D<double> layer(s, Activation::linear, n, true, params.data(), params.data() + s.kernel_size(), grads.data(),
                       grads.data() + s.kernel_size());
  check_layer_gradients(layer, x, s.out_size(), n, &params, &grads, nullptr, 17);

  const auto xf = test::cast<float>(x), pf = test::cast<float>(params);
  std::vector<float> dk[2], y(n * s.out_size()), dx(n * s.in_size());
  for (int need_dx = 0; need_dx < 2; ++need_dx) {
    dk[need_dx].assign(pf.size(), 0.0f);
    Conv2D<float> conv(s, Activation::relu, n, need_dx == 1, pf.data(), pf.data() + s.kernel_size(),
                       dk[need_dx].data(), dk[need_dx].data() + s.kernel_size());
    conv.forward(xf.data(), y.data(), n);
    std::vector<float> dy(y.size(), 0.5f);
    conv.backward(xf.data(), y.data(), dy.data(), need_dx == 1 ? dx.data() : nullptr, n);
  }
  EXPECT_EQ(dk[0], dk[1]);
}

// Winograd's products with the kernel packed once (src/nn/packed_gemm.hpp) must be the bytes of
// the Eigen expressions they replace: forward's m = v u and dX's v = m u^T (row-major views), for
// the residual recipe's shapes (64 tiles of 128 or 64 channels), a last pass of few tiles, and
// channel counts that are not a multiple of the lanes (with AVX-512 Eigen splits 128 and 64 rows in
// blocks of 96 and 48). Where Eigen would also split depth or columns (block_rows() 0: it depends on
// the vector width and the caches) Winograd uses the expression itself, so there is nothing to
// compare; the test fails if nothing was compared. Returns how many products it compared.
template <typename T>
int check_packed_products(Eigen::Index tiles, Eigen::Index c, Eigen::Index k) {
  using detail::ConstMapRM;
  using detail::MapRM;
  using Fwd = detail::PackedLhs<T, Eigen::ColMajor>;
  using Dx = detail::PackedLhs<T, Eigen::RowMajor>;
  SCOPED_TRACE(testing::Message() << tiles << " tiles, " << c << " -> " << k);
  std::mt19937_64 rng(tiles * 1000 + c * 10 + k);
  const auto v = random_vector(std::size_t(tiles * c), rng), m = random_vector(std::size_t(tiles * k), rng);
  const auto u = random_vector(std::size_t(c * k), rng);
  const std::vector<T> vt = test::cast<T>(v), mt = test::cast<T>(m), ut = test::cast<T>(u);
  AlignedVector<T> packed(std::size_t(c * k)), block(std::size_t(std::max(c, k) * tiles));
  int compared = 0;
  if (const Eigen::Index rows = Fwd::block_rows(k, c, tiles); rows > 0) {
    std::vector<T> expected(std::size_t(tiles * k)), got(expected.size(), T(7));
    MapRM<T>(expected.data(), tiles, k).noalias() =
        ConstMapRM<T>(vt.data(), tiles, c) * ConstMapRM<T>(ut.data(), c, k);
    Fwd::pack(ut.data(), k, k, c, rows, packed.data());
    Fwd::multiply(packed.data(), rows, vt.data(), got.data(), k, c, tiles, block.data());
    EXPECT_EQ(expected, got);
    ++compared;
  }
  if (const Eigen::Index rows = Dx::block_rows(c, k, tiles); rows > 0) {
    std::vector<T> expected(std::size_t(tiles * c)), got(expected.size(), T(7));
    MapRM<T>(expected.data(), tiles, c).noalias() =
        ConstMapRM<T>(mt.data(), tiles, k) * ConstMapRM<T>(ut.data(), c, k).transpose();
    Dx::pack(ut.data(), k, c, k, rows, packed.data());
    Dx::multiply(packed.data(), rows, mt.data(), got.data(), c, k, tiles, block.data());
    EXPECT_EQ(expected, got);
    ++compared;
  }
  return compared;
}

TEST(Conv2D, WinogradPackedProductsAreEigensBytes) {
  int compared = 0;
  for (auto [tiles, c, k] : {std::array<Eigen::Index, 3>{64, 128, 128}, {64, 64, 64}, {64, 64, 128}, {49, 32, 32},
                             {4, 128, 128}, {12, 33, 40}, {30, 32, 35}}) {
    compared += check_packed_products<float>(tiles, c, k);
    compared += check_packed_products<double>(tiles, c, k);
  }
  EXPECT_GE(compared, 4);
}

TEST(Conv2D, GradientCheckEveryConfiguration) {
  std::uint64_t seed = 1;
  for (const ConvCase& c : conv_cases()) {
    SCOPED_TRACE(name(c));
    const ConvShape& s = c.s;
    const int n = 2;
    std::mt19937_64 rng(seed);
    auto x = random_vector(n * s.in_size(), rng);
    std::vector<double> params = random_vector(s.kernel_size() + (c.bias ? s.out_c : 0), rng, -0.5, 0.5);
    std::vector<double> grads(params.size());
    Conv2D<double> layer(s, c.act, n, true, params.data(), c.bias ? params.data() + s.kernel_size() : nullptr,
                         grads.data(), c.bias ? grads.data() + s.kernel_size() : nullptr);
    check_layer_gradients(layer, x, s.out_size(), n, &params, &grads, nullptr, ++seed);
  }
}

TEST(Conv2D, FirstLayerSkipsInputGradientAndAcceptsEmptyBatch) {
  const ConvShape s{28, 28, 1, 32};
  std::mt19937_64 rng(3);
  const auto x = random_vector(2 * s.in_size(), rng);
  const auto kernel = random_vector(s.kernel_size(), rng);
  const std::vector<double> bias(s.out_c, 0.1);
  std::vector<double> dkernel(s.kernel_size(), 0), dbias(s.out_c, 0);
  std::vector<double> y(2 * s.out_size()), dy(2 * s.out_size(), 1.0);
  Conv2D<double> conv(s, Activation::relu, 2, false, kernel.data(), bias.data(), dkernel.data(), dbias.data());
  conv.forward(x.data(), y.data(), 0);
  conv.backward(x.data(), y.data(), dy.data(), nullptr, 0);
  EXPECT_TRUE(std::all_of(dkernel.begin(), dkernel.end(), [](double v) { return v == 0; }));
  conv.forward(x.data(), y.data(), 2);
  conv.backward(x.data(), y.data(), dy.data(), nullptr, 2);
  EXPECT_GT(std::abs(dbias[0]), 0);
  EXPECT_THROW(conv.forward(x.data(), y.data(), 3), std::invalid_argument);
  std::vector<double> dx(x.size());
  EXPECT_THROW(conv.backward(x.data(), y.data(), dy.data(), dx.data(), 2), std::invalid_argument);
}

TEST(Conv2D, SamePaddingPutsTheExtraPixelBottomRight) {
  // TensorFlow: 4 pixels, kernel 2, stride 1: one pixel of padding, after the image. A kernel of
  // ones on a ramp shows where: the last output reads x[3] and the padding.
  const ConvShape s = shape(1, 4, 1, 1, {1, 2}, {1, 1}, Padding::same);
  EXPECT_EQ(s.out_w(), 4);
  EXPECT_EQ(s.pad_left(), 0);
  const std::vector<double> x = {1, 2, 3, 4}, kernel = {1, 1};
  std::vector<double> dk(2), y(4);
  Conv2D<double>(s, Activation::linear, 1, false, kernel.data(), nullptr, dk.data(), nullptr).forward(x.data(), y.data(), 1);
  EXPECT_EQ(y, (std::vector<double>{3, 5, 7, 4}));
  const ConvShape odd = shape(5, 5, 1, 1, {4, 4}, {2, 2}, Padding::same);  // out 3, total 3: 1 before, 2 after
  EXPECT_EQ(odd.out_h(), 3);
  EXPECT_EQ(odd.pad_top(), 1);
}

// ---- Pooling ------------------------------------------------------------------------------------

std::vector<ConvShape> pool_cases() {
  std::vector<ConvShape> cases;
  for (Padding p : {Padding::valid, Padding::same}) {
    cases.push_back(shape(11, 11, 3, 3, {2, 2}, {2, 2}, p));  // 11 -> 5 (valid floor) or 6 (same)
    cases.push_back(shape(7, 5, 2, 2, {3, 3}, {2, 2}, p));    // overlapping windows
    cases.push_back(shape(7, 6, 2, 2, {2, 3}, {1, 1}, p));
    cases.push_back(shape(8, 7, 2, 2, {3, 2}, {3, 3}, p));    // stride larger than the window on one axis
  }
  return cases;
}

template <typename T>
void check_pool_against_naive(const ConvShape& s, bool max, int n, double tolerance) {
  std::mt19937_64 rng(5 + s.kernel_h);
  const auto x = random_vector(n * s.in_size(), rng);
  const auto dy = random_vector(n * s.out_size(), rng);
  const test::PoolReference want = test::naive_pool(s, max, x, dy, n);
  const auto xt = cast<T>(x);
  std::vector<T> y(want.y.size()), dyt = cast<T>(dy), dx(x.size(), std::numeric_limits<T>::quiet_NaN());
  MaxPool2D<T> max_pool(s, n);
  AvgPool2D<T> avg_pool(s);
  Layer<T>& layer = max ? static_cast<Layer<T>&>(max_pool) : avg_pool;
  layer.forward(xt.data(), y.data(), n, nullptr);
  layer.backward(xt.data(), y.data(), dyt.data(), dx.data(), n);
  EXPECT_LE(max_rel_diff(y, want.y), tolerance) << "forward";
  EXPECT_LE(max_rel_diff(dx, want.dx), tolerance) << "dx";
}

TEST(Pool2D, EveryConfigurationMatchesNaive) {
  for (const ConvShape& s : pool_cases()) {
    for (bool max : {true, false}) {
      SCOPED_TRACE(std::string(max ? "max " : "avg ") + keras_name(s.padding) + " k " + std::to_string(s.kernel_h) + "x" +
                   std::to_string(s.kernel_w) + " s " + std::to_string(s.stride_h));
      check_pool_against_naive<double>(s, max, 2, 1e-12);
      check_pool_against_naive<float>(s, max, 2, 1e-6);
    }
  }
}

TEST(Pool2D, GradientCheckEveryConfiguration) {
  std::uint64_t seed = 40;
  for (const ConvShape& s : pool_cases()) {
    SCOPED_TRACE(std::string(keras_name(s.padding)) + " k " + std::to_string(s.kernel_h) + "x" + std::to_string(s.kernel_w));
    const int n = 2;
    std::mt19937_64 rng(seed);
    auto x = random_vector(n * s.in_size(), rng);
    MaxPool2D<double> max_pool(s, n);
    AvgPool2D<double> avg_pool(s);
    check_layer_gradients(max_pool, x, s.out_size(), n, nullptr, nullptr, nullptr, ++seed);
    check_layer_gradients(avg_pool, x, s.out_size(), n, nullptr, nullptr, nullptr, ++seed);
  }
}

TEST(Pool2D, MaxFloorsElevenToFiveAndTiesGoFirst) {
  const ConvShape s = shape(11, 11, 3, 3, {2, 2}, {2, 2}, Padding::valid);
  EXPECT_EQ(s.out_h(), 5);
  EXPECT_EQ(shape(11, 11, 3, 3, {2, 2}, {2, 2}, Padding::same).out_h(), 6);
  MaxPool2D<double> pool(shape(2, 2, 1, 1, {2, 2}, {2, 2}, Padding::valid), 1);
  const std::vector<double> x = {1, 3, 3, 3};
  std::vector<double> y(1), dx(4), dy = {2};
  pool.forward(x.data(), y.data(), 1);
  pool.backward(x.data(), y.data(), dy.data(), dx.data(), 1);
  EXPECT_EQ(y[0], 3);
  EXPECT_EQ(dx, (std::vector<double>{0, 2, 0, 0}));
}

TEST(Pool2D, SameAverageDividesByRealPixels) {
  // 3 pixels, window 2, stride 2, same: out 2; the last window covers x[2] and one padding pixel.
  AvgPool2D<double> pool(shape(1, 3, 1, 1, {1, 2}, {1, 2}, Padding::same));
  const std::vector<double> x = {1, 3, 8};
  std::vector<double> y(2);
  pool.forward(x.data(), y.data(), 1);
  EXPECT_EQ(y, (std::vector<double>{2, 8}));
}

// ---- Dense and Relu -----------------------------------------------------------------------------

TEST(Dense, GradientCheckEveryConfiguration) {
  for (Activation act : {Activation::relu, Activation::linear}) {
    for (bool bias : {true, false}) {
      SCOPED_TRACE(std::string(keras_name(act)) + (bias ? "" : " no bias"));
      const int in = 7, out = 5, n = 3;
      std::mt19937_64 rng(act == Activation::relu ? 23 : 29);
      auto x = random_vector(std::size_t(n) * in, rng);
      std::vector<double> params = random_vector(std::size_t(in) * out + (bias ? out : 0), rng);
      std::vector<double> grads(params.size());
      Dense<double> dense(in, out, act, params.data(), bias ? params.data() + in * out : nullptr, grads.data(),
                          bias ? grads.data() + in * out : nullptr);
      std::vector<double> y(std::size_t(n) * out);
      dense.forward(x.data(), y.data(), n);
      for (int i = 0; i < n; ++i)
        for (int o = 0; o < out; ++o) {
          double acc = bias ? params[in * out + o] : 0.0;
          for (int k = 0; k < in; ++k) acc += x[i * in + k] * params[k * out + o];
          EXPECT_NEAR(y[i * out + o], act == Activation::relu ? std::max(acc, 0.0) : acc, 1e-12);
        }
      check_layer_gradients(dense, x, out, n, &params, &grads, nullptr, 31);
    }
  }
}

TEST(Relu, ForwardAndGradientCheck) {
  const int n = 3;
  const std::size_t size = 20;
  std::mt19937_64 rng(37);
  auto x = random_vector(n * size, rng);
  Relu<double> relu(size);
  std::vector<double> y(x.size());
  relu.forward(x.data(), y.data(), n);
  for (std::size_t i = 0; i < x.size(); ++i) EXPECT_EQ(y[i], std::max(x[i], 0.0));
  check_layer_gradients(relu, x, size, n, nullptr, nullptr, nullptr, 38);
}

// ---- Dropout ------------------------------------------------------------------------------------

TEST(Dropout, GradientCheckWithAFixedMask) {
  const int n = 4;
  const std::size_t size = 30;
  std::mt19937_64 rng(41);
  auto x = random_vector(n * size, rng);
  Dropout<double> dropout(0.4, size, 3, n);
  const DropoutContext at{7, 12, 100};
  check_layer_gradients(dropout, x, size, n, nullptr, nullptr, &at, 42);
}

TEST(Dropout, KeepsOneMinusRateScaledAndIsOffInEvaluation) {
  const int n = 64;
  const std::size_t size = 1000;
  const double rate = 0.3;
  std::vector<float> x(n * size, 2.0f), y(x.size());
  Dropout<float> dropout(rate, size, 0, n);
  const DropoutContext at{1, 0, 0};
  dropout.forward(x.data(), y.data(), n, &at);
  std::size_t kept = 0;
  for (float v : y) {
    ASSERT_TRUE(v == 0.0f || v == float(2.0 / (1 - rate))) << v;
    kept += v != 0;
  }
  const double p = double(kept) / double(y.size());  // 64,000 draws: sigma 0.0018
  EXPECT_NEAR(p, 1 - rate, 0.01);
  dropout.forward(x.data(), y.data(), n, nullptr);
  EXPECT_EQ(x, y);
  std::vector<float> dy(y.size(), 1.0f), dx(y.size());
  dropout.backward(x.data(), y.data(), dy.data(), dx.data(), n);
  EXPECT_EQ(dx, dy);  // evaluation: the identity
}

TEST(Dropout, MaskDependsOnlyOnSeedStepPositionAndLayer) {
  const int n = 8;
  const std::size_t size = 50;
  std::vector<double> x(n * size, 1.0), whole(x.size()), split(x.size());
  Dropout<double> dropout(0.5, size, 2, n);
  const DropoutContext at{3, 5, 16};
  dropout.forward(x.data(), whole.data(), n, &at);
  // The same samples in two batches (positions 16..19 and 20..23): the same masks.
  const DropoutContext first{3, 5, 16}, second{3, 5, 20};
  dropout.forward(x.data(), split.data(), 4, &first);
  dropout.forward(x.data(), split.data() + 4 * size, 4, &second);
  EXPECT_EQ(whole, split);
  for (std::size_t j = 0; j < whole.size(); ++j)
    ASSERT_EQ(whole[j] != 0, Dropout<double>::keep(0.5, at, 16 + std::int64_t(j / size), 2, j % size)) << j;
  // Another seed, step, position or layer gives another mask.
  auto mask = [&](DropoutContext c, std::size_t layer) {
    Dropout<double> d(0.5, size, layer, n);
    std::vector<double> y(x.size());
    d.forward(x.data(), y.data(), n, &c);
    return y;
  };
  EXPECT_EQ(mask(at, 2), whole);
  EXPECT_NE(mask({4, 5, 16}, 2), whole);
  EXPECT_NE(mask({3, 6, 16}, 2), whole);
  EXPECT_NE(mask({3, 5, 17}, 2), whole);
  EXPECT_NE(mask(at, 3), whole);
}

// ---- Determinism --------------------------------------------------------------------------------

TEST(Layers, ResultsDoNotDependOnBufferAlignment) {
  expect_alignment_free(200, 64, 200 * 64 + 64, 37, [](float* p, float* g) {
    return std::make_unique<Dense<float>>(200, 64, Activation::relu, p, p + 200 * 64, g, g + 200 * 64);
  });
  const ConvShape s = shape(9, 9, 8, 32, {3, 3}, {1, 1}, Padding::same);
  expect_alignment_free(s.in_size(), s.out_size(), s.kernel_size() + 32, 9, [&](float* p, float* g) {
    return std::make_unique<Conv2D<float>>(s, Activation::relu, 9, true, p, p + s.kernel_size(), g, g + s.kernel_size());
  });
  const ConvShape w = shape(7, 7, 32, 48, {3, 3}, {1, 1}, Padding::same);  // Winograd's path
  expect_alignment_free(w.in_size(), w.out_size(), w.kernel_size() + 48, 9, [&](float* p, float* g) {
    return std::make_unique<Conv2D<float>>(w, Activation::relu, 9, true, p, p + w.kernel_size(), g, g + w.kernel_size());
  });
}

// ---- Softmax cross-entropy ----------------------------------------------------------------------

TEST(SoftmaxXent, LossAndGradientCheck) {
  const int n = 4, k = 10;
  std::mt19937_64 rng(31);
  auto logits = random_vector(std::size_t(n) * k, rng, -4, 4);
  const std::vector<std::uint8_t> labels = {3, 0, 9, 5};
  double expected = 0;
  for (int i = 0; i < n; ++i) {
    double sum = 0;
    for (int j = 0; j < k; ++j) sum += std::exp(logits[i * k + j]);
    expected += std::log(sum) - logits[i * k + labels[i]];
  }
  EXPECT_NEAR(softmax_xent_forward(logits.data(), labels.data(), n, k).loss_sum, expected, 1e-12);
  std::vector<double> dlogits(logits.size());
  softmax_xent_backward(logits.data(), labels.data(), n, k, dlogits.data());
  GradientChecker().check(logits, dlogits, [&] { return softmax_xent_forward(logits.data(), labels.data(), n, k).loss_sum; },
                          "dlogits");
}

TEST(SoftmaxXent, StableForHugeLogits) {
  const std::vector<float> logits = {1000, 0, -1000, 999};
  const std::vector<std::uint8_t> labels = {3};
  const BatchStats s = softmax_xent_forward(logits.data(), labels.data(), 1, 4);
  EXPECT_NEAR(s.loss_sum, 1 + std::log1p(std::exp(-1.0)), 1e-6);
  EXPECT_EQ(s.correct, 0);
  std::vector<float> d(4);
  softmax_xent_backward(logits.data(), labels.data(), 1, 4, d.data());
  for (float v : d) EXPECT_TRUE(std::isfinite(v));
  EXPECT_NEAR(d[0] + d[1] + d[2] + d[3], 0.0, 1e-6);
}

TEST(SoftmaxXent, ArgmaxTiesGoToTheFirstIndex) {
  const std::vector<double> logits = {0.5, 2, 2, 1, 1, 1};
  const std::vector<std::uint8_t> first = {1, 0}, second = {2, 1};
  EXPECT_EQ(softmax_xent_forward(logits.data(), first.data(), 2, 3).correct, 2);
  EXPECT_EQ(softmax_xent_forward(logits.data(), second.data(), 2, 3).correct, 0);
  EXPECT_NEAR(softmax_xent_forward(logits.data(), first.data(), 2, 3).loss_sum, std::log(std::exp(-1.5) + 2) + std::log(3.0),
              1e-12);
}

}  // namespace
}  // namespace fmnist
