// The fused Conv2D + activation + MaxPool2D layer against the naive references (7-loop
// convolution, activation, window-by-window max pooling with the first maximum winning), at the
// two models' real shapes and odd ones (same padding with odd sizes, strides 2, 5x5 kernels,
// overlapping and gapped pools over odd inputs, linear, no bias), through its sparse and GEMM
// backward paths, in float and double, and by the shared gradient checker in double.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <new>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "fmnist/layers.hpp"
#include "grad_check.hpp"
#include "layer_checks.hpp"
#include "naive_conv.hpp"

namespace fmnist {
namespace {

using test::max_rel_diff;
using test::random_vector;

struct FusedCase {
  ConvShape conv;
  ConvShape pool;  // over conv's output
  Activation act = Activation::relu;
  bool bias = true;
};

// conv (h, w, c -> out_c, kernel k, stride s, padding p), then a max pool (window pk, stride ps, padding pp).
FusedCase fused(int h, int w, int c, int out_c, int k, int s, Padding p, int pk, int ps, Padding pp,
                Activation act = Activation::relu, bool bias = true) {
  const ConvShape conv{h, w, c, out_c, k, k, s, s, p};
  return {conv, {conv.out_h(), conv.out_w(), out_c, out_c, pk, pk, ps, ps, pp}, act, bias};
}

std::string name(const FusedCase& f) {
  const ConvShape &c = f.conv, &p = f.pool;
  return std::to_string(c.in_h) + "x" + std::to_string(c.in_w) + "x" + std::to_string(c.in_c) + " -> " +
         std::to_string(c.out_c) + " k" + std::to_string(c.kernel_h) + " s" + std::to_string(c.stride_h) + " " +
         keras_name(c.padding) + ", pool " + std::to_string(p.kernel_h) + " s" + std::to_string(p.stride_h) + " " +
         keras_name(p.padding) + " " + keras_name(f.act) + (f.bias ? "" : " no bias");
}

struct Reference {
  std::vector<double> y, dkernel, dbias, dx;  // pooled output and the gradients of sum(y * dy)
};

// y = maxpool(act(conv(x) + b)) and the gradients of L = sum(y * dy), one definition at a time.
Reference naive_conv_pool(const FusedCase& f, const std::vector<double>& x, const std::vector<double>& kernel,
                          const std::vector<double>& bias, const std::vector<double>& dy, int n) {
  const ConvShape& s = f.conv;
  const test::NaiveConv conv{s, x, kernel, bias};
  const std::vector<double> a = test::naive_conv_activation(conv, s, f.act, n);  // (n, out_h, out_w, out_c)
  const test::PoolReference pooled = test::naive_pool(f.pool, true, a, dy, n);
  test::ConvGradients g = conv.zero_gradients(n);
  std::size_t at = 0;
  for (int b = 0; b < n; ++b)
    for (int oh = 0; oh < s.out_h(); ++oh)
      for (int ow = 0; ow < s.out_w(); ++ow)
        for (int co = 0; co < s.out_c; ++co, ++at) {
          const bool pass = f.act == Activation::linear || a[at] > 0;
          if (pass && pooled.dx[at] != 0) conv.backprop(b, oh, ow, co, pooled.dx[at], g);
        }
  return {pooled.y, std::move(g.dkernel), std::move(g.dbias), std::move(g.dx)};
}

template <typename T>
void check_against_naive(const FusedCase& f, bool need_dx, int n, double tolerance) {
  SCOPED_TRACE(name(f) + (sizeof(T) == 4 ? " float" : " double"));
  const ConvShape& s = f.conv;
  std::mt19937_64 rng(11 + s.in_c);
  const auto x = random_vector(n * s.in_size(), rng, 0, 1);
  const auto kernel = random_vector(s.kernel_size(), rng, -0.3, 0.3);
  const auto bias = f.bias ? random_vector(s.out_c, rng, -0.1, 0.1) : std::vector<double>();
  const auto dy = random_vector(n * f.pool.out_size(), rng, -1, 1);
  const Reference want = naive_conv_pool(f, x, kernel, bias, dy, n);

  const auto tx = test::cast<T>(x), tk = test::cast<T>(kernel), tb = test::cast<T>(bias), tdy = test::cast<T>(dy);
  std::vector<T> dk(tk.size(), T(0.5)), db(s.out_c, T(-0.25)), y(want.y.size()), dx(tx.size(), T(7));  // backward adds
  Conv2DPool<T> layer(f.conv, f.pool, f.act, n, need_dx, tk.data(), f.bias ? tb.data() : nullptr, dk.data(),
                      f.bias ? db.data() : nullptr);
  std::vector<T> dy_scratch = tdy;
  layer.forward(tx.data(), y.data(), n);
  layer.backward(tx.data(), y.data(), dy_scratch.data(), need_dx ? dx.data() : nullptr, n);
  for (auto& v : dk) v -= T(0.5);
  for (auto& v : db) v += T(0.25);
  EXPECT_LE(max_rel_diff(y, want.y), tolerance) << "forward";
  EXPECT_LE(max_rel_diff(dk, want.dkernel), tolerance) << "dkernel";
  if (f.bias) {
    EXPECT_LE(max_rel_diff(db, want.dbias), tolerance) << "dbias";
  }
  if (need_dx) {
    EXPECT_LE(max_rel_diff(dx, want.dx), tolerance) << "dx";
  }
  EXPECT_EQ(dy_scratch, tdy) << "dy is not modified";
}

template <typename T>
void check_both(const FusedCase& f, bool need_dx, int n) {
  check_against_naive<T>(f, need_dx, n, sizeof(T) == 4 ? 2e-5 : 1e-12);
}

const Padding valid = Padding::valid, same = Padding::same;

TEST(Conv2DPool, TutorialLayersMatchNaive) {
  check_both<float>(fused(28, 28, 1, 32, 3, 1, valid, 2, 2, valid), false, 5);  // conv2d: im2col + GEMM backward
  check_both<double>(fused(28, 28, 1, 32, 3, 1, valid, 2, 2, valid), false, 2);
  check_both<float>(fused(13, 13, 32, 64, 3, 1, valid, 2, 2, valid), true, 40);  // conv2d_1: 11 -> 5, several chunks
  check_both<double>(fused(13, 13, 32, 64, 3, 1, valid, 2, 2, valid), true, 2);
}

TEST(Conv2DPool, WideModelLayersMatchNaive) {  // "same" convolutions, 2x2 pools
  check_both<float>(fused(28, 28, 1, 64, 3, 1, same, 2, 2, valid), false, 3);
  check_both<double>(fused(28, 28, 1, 64, 3, 1, same, 2, 2, valid), true, 2);
  check_both<float>(fused(14, 14, 64, 128, 3, 1, same, 2, 2, valid), true, 3);
  check_both<double>(fused(14, 14, 64, 128, 3, 1, same, 2, 2, valid), true, 1);
}

// Odd shapes: both backward paths (kernel rows of at least 8 values are sparse, with a scalar tail
// where the row is not a whole number of vectors), channels that are not a multiple of the lanes.
std::vector<FusedCase> odd_cases() {
  return {
      fused(7, 6, 3, 5, 3, 1, valid, 2, 2, valid),                      // row 9: sparse + tail; 5 -> 2 drops a row
      fused(9, 7, 4, 6, 3, 1, same, 3, 2, same),                        // overlapping windows, odd sizes
      fused(11, 10, 8, 7, 5, 2, same, 2, 2, valid),                     // 5x5 stride 2
      fused(12, 11, 2, 9, 5, 1, valid, 3, 3, valid),                    // 8 -> 2x2 of 3x3 windows, odd pool input
      fused(10, 9, 4, 3, 3, 1, valid, 2, 3, valid),                     // pool stride 3 > window: gaps
      fused(8, 9, 1, 5, 3, 2, same, 2, 2, same),                        // row 3: GEMM path, same, stride 2
      fused(9, 8, 6, 4, 3, 1, same, 2, 2, valid, Activation::linear),   // linear
      fused(7, 7, 8, 10, 2, 1, same, 3, 1, same, Activation::relu, false),  // no bias, even kernel, stride-1 pool
  };
}

TEST(Conv2DPool, OddShapesMatchNaive) {
  for (const FusedCase& f : odd_cases()) {
    check_both<float>(f, true, 3);
    check_both<double>(f, true, 3);
    check_both<double>(f, false, 2);
  }
}

// L = sum(y * r): every parameter and input gradient against central differences, in double.
void gradient_check(const FusedCase& f, bool need_dx, std::uint64_t seed) {
  SCOPED_TRACE(name(f));
  const ConvShape& s = f.conv;
  const int n = 2;
  std::mt19937_64 rng(seed);
  auto x = random_vector(n * s.in_size(), rng, 0, 1);
  auto kernel = random_vector(s.kernel_size(), rng, -0.5, 0.5);
  auto bias = f.bias ? random_vector(s.out_c, rng, 0.0, 0.2) : std::vector<double>();
  const auto r = random_vector(n * f.pool.out_size(), rng, -1, 1);
  std::vector<double> dk(kernel.size()), db(bias.size()), dx(x.size()), y(r.size()), dy = r;
  Conv2DPool<double> layer(f.conv, f.pool, f.act, n, need_dx, kernel.data(), f.bias ? bias.data() : nullptr, dk.data(),
                           f.bias ? db.data() : nullptr);
  auto loss = [&] {
    layer.forward(x.data(), y.data(), n);
    return test::dot(y.data(), r.data(), y.size());
  };
  loss();
  layer.backward(x.data(), y.data(), dy.data(), need_dx ? dx.data() : nullptr, n);
  const test::GradientChecker checker{.sample = 300};
  EXPECT_GT(checker.check(kernel, dk, loss, "dkernel").largest, 0);
  if (f.bias) checker.check(bias, db, loss, "dbias");
  if (need_dx) {
    EXPECT_GT(checker.check(x, dx, loss, "dx").largest, 0);
  }
}

TEST(Conv2DPool, GradientCheck) {
  gradient_check(fused(6, 7, 1, 32, 3, 1, valid, 2, 2, valid), false, 4);  // the first layer (GEMM)
  gradient_check(fused(6, 6, 32, 64, 3, 1, valid, 2, 2, valid), true, 5);  // conv2d_1's channels (sparse)
  gradient_check(fused(6, 6, 16, 24, 3, 1, same, 2, 2, valid), true, 6);   // the wide model's kind
  std::uint64_t seed = 10;
  for (const FusedCase& f : odd_cases()) gradient_check(f, true, ++seed);
}

TEST(Conv2DPool, RejectsPoolThatDoesNotFit) {
  const FusedCase f = fused(8, 8, 2, 4, 3, 1, valid, 2, 2, valid);
  std::vector<double> k(f.conv.kernel_size()), dk(k.size());
  ConvShape wrong = f.pool;
  wrong.in_h += 1;
  EXPECT_THROW(Conv2DPool<double>(f.conv, wrong, Activation::relu, 1, true, k.data(), nullptr, dk.data(), nullptr),
               std::invalid_argument);
  EXPECT_THROW(Conv2DPool<double>(f.conv, f.pool, Activation::softmax, 1, true, k.data(), nullptr, dk.data(), nullptr),
               std::invalid_argument);
}

// Runs build() with the address space capped at 2 GB and exits (the death-test child): 0 if it
// threw invalid_argument containing `words`, 2 for another message, 3 for bad_alloc (it allocated
// before refusing), 4 if it did not throw, 5 if the cap could not be set.
template <typename Build>
[[noreturn]] void exit_by_how_refused(Build build, const std::string& words) {
  const rlimit cap{std::size_t(2) << 30, std::size_t(2) << 30};
  if (setrlimit(RLIMIT_AS, &cap) != 0) std::_Exit(5);
  try {
    build();
  } catch (const std::invalid_argument& e) {
    std::_Exit(std::string(e.what()).find(words) != std::string::npos ? 0 : 2);
  } catch (const std::bad_alloc&) {
    std::_Exit(3);
  }
  std::_Exit(4);
}

// An input whose padded image exceeds 32-bit offsets is refused before any offset or buffer is
// built. The geometry: "same" padding that reaches past a 66,000 x 66,000 image (a 66,002-square
// padded copy, 4,356,264,004 values), a 2x2 convolution output pooled to 1x1. Run in a child
// whose address space is capped at 2 GB, so a 17 GB padded-input buffer allocated before the
// guard shows as bad_alloc (exit 3) instead of taking the machine's memory.
TEST(Conv2DPool, RefusesAnInputBeyond32BitOffsetsBeforeAllocating) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "an address-space cap leaves AddressSanitizer no room for its shadow memory";
#endif
  const FusedCase f = fused(66000, 66000, 1, 1, 3, 65999, same, 2, 2, valid);
  ASSERT_EQ(f.conv.out_h(), 2);
  ASSERT_EQ(f.pool.out_h(), 1);
  std::vector<float> k(f.conv.kernel_size()), dk(k.size());
  EXPECT_EXIT(exit_by_how_refused(
                  [&] { Conv2DPool<float>(f.conv, f.pool, Activation::relu, 1, true, k.data(), nullptr, dk.data(), nullptr); },
                  "4356264004 values each exceed 32-bit offsets"),
              ::testing::ExitedWithCode(0), "");
}

// The same guard in Conv2D: with stride 1 the old order built 4.4e9 patch offsets (17 GB) before it.
TEST(Conv2D, RefusesAnInputBeyond32BitOffsetsBeforeAllocating) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "an address-space cap leaves AddressSanitizer no room for its shadow memory";
#endif
  ConvShape s;
  s.in_h = s.in_w = 66000;
  s.in_c = s.out_c = 1;
  s.padding = Padding::same;
  std::vector<float> k(s.kernel_size()), dk(k.size());
  EXPECT_EXIT(exit_by_how_refused([&] { Conv2D<float>(s, Activation::relu, 1, true, k.data(), nullptr, dk.data(), nullptr); },
                                  "exceed 32-bit offsets"),
              ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace fmnist
