// The fused Conv2D + ReLU + MaxPool2D layer against the naive references (7-loop convolution,
// ReLU, 2x2 pooling with the first maximum winning) at the model's real shapes and odd ones,
// through each of its three paths, in float and double, and the shared gradient checker.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "fmnist/layers.hpp"
#include "grad_check.hpp"
#include "naive_conv.hpp"

namespace fmnist {
namespace {

struct Reference {
  std::vector<double> y, dkernel, dbias, dx;  // pooled output and the gradients of sum(y * dy)
};

// y = maxpool(relu(conv(x) + b)); gradients of L = sum(y * dy), by the definition of each step.
Reference naive_conv_pool(const ConvShape& s, const std::vector<double>& x, const std::vector<double>& kernel,
                          const std::vector<double>& bias, const std::vector<double>& dy, int n) {
  const test::NaiveConv conv{s, x, kernel, bias};
  test::ConvGradients g = conv.zero_gradients(n);
  const int ph = s.out_h() / 2, pw = s.out_w() / 2;
  std::vector<double> y(std::size_t(n) * ph * pw * s.out_c, 0.0);
  std::size_t at = 0;  // (b, h, w, co) of the pooled output in row-major order
  for (int b = 0; b < n; ++b)
    for (int h = 0; h < ph; ++h)
      for (int w = 0; w < pw; ++w)
        for (int co = 0; co < s.out_c; ++co, ++at) {
          int best_h = 2 * h, best_w = 2 * w;
          double best = std::max(conv.pre(b, best_h, best_w, co), 0.0);
          for (int d = 1; d < 4; ++d) {
            const double v = std::max(conv.pre(b, 2 * h + d / 2, 2 * w + d % 2, co), 0.0);
            if (v > best) best = v, best_h = 2 * h + d / 2, best_w = 2 * w + d % 2;
          }
          y[at] = best;
          if (best > 0) conv.backprop(b, best_h, best_w, co, dy[at], g);  // else the ReLU passed nothing
        }
  return {std::move(y), std::move(g.dkernel), std::move(g.dbias), std::move(g.dx)};
}

using test::max_rel_diff;
using test::random_vector;

template <typename T>
void check_against_naive(const ConvShape& s, bool need_dx, int n, double tolerance) {
  std::mt19937_64 rng(11);
  const auto x = random_vector(n * s.in_size(), rng, 0, 1);
  auto kernel = random_vector(s.kernel_size(), rng, -0.3, 0.3);
  const auto bias = random_vector(s.out_c, rng, -0.1, 0.1);
  const int ph = s.out_h() / 2, pw = s.out_w() / 2;
  const auto dy = random_vector(std::size_t(n) * ph * pw * s.out_c, rng, -1, 1);
  const Reference want = naive_conv_pool(s, x, kernel, bias, dy, n);

  const std::vector<T> tx(x.begin(), x.end()), tk(kernel.begin(), kernel.end()), tb(bias.begin(), bias.end()),
      tdy(dy.begin(), dy.end());
  std::vector<T> dk(tk.size(), T(0)), db(tb.size(), T(0)), y(want.y.size()), dx(tx.size(), T(0));
  Conv2DPool<T> layer(s, n, need_dx, tk.data(), tb.data(), dk.data(), db.data());
  std::vector<T> dy_scratch = tdy;
  layer.forward(tx.data(), y.data(), n);
  layer.backward(tx.data(), y.data(), dy_scratch.data(), need_dx ? dx.data() : nullptr, n);
  EXPECT_LE(max_rel_diff(y, want.y), tolerance) << "forward";
  EXPECT_LE(max_rel_diff(dk, want.dkernel), tolerance) << "dkernel";
  EXPECT_LE(max_rel_diff(db, want.dbias), tolerance) << "dbias";
  if (need_dx) {
    EXPECT_LE(max_rel_diff(dx, want.dx), tolerance) << "dx";
  }
}

TEST(Conv2DPool, FirstLayerMatchesNaive) {
  check_against_naive<float>({28, 28, 1, 32}, false, 5, 1e-5);
  check_against_naive<double>({28, 28, 1, 32}, false, 3, 1e-12);
}

TEST(Conv2DPool, SecondLayerMatchesNaive) {  // conv2d_1: 13 -> 11 -> 5, the odd row dropped
  check_against_naive<float>({13, 13, 32, 64}, true, 40, 1e-5);  // several chunks
  check_against_naive<double>({13, 13, 32, 64}, true, 2, 1e-12);
}

TEST(Conv2DPool, OddShapeMatchesNaive) {  // the general im2col path
  check_against_naive<float>({7, 6, 3, 5}, true, 4, 1e-5);
  check_against_naive<double>({7, 6, 3, 5}, true, 4, 1e-12);
  check_against_naive<double>({8, 9, 1, 32}, true, 3, 1e-12);  // the first layer's shape, but with dx: GEMM
}

// L = sum(y * r): every parameter and input gradient against central differences, in double,
// through the GEMM path and the direct and sparse paths at small sizes.
void gradient_check(const ConvShape& s, bool need_dx, std::uint64_t seed) {
  const int n = 2;
  std::mt19937_64 rng(seed);
  auto x = random_vector(n * s.in_size(), rng, 0, 1);
  auto kernel = random_vector(s.kernel_size(), rng, -0.5, 0.5);
  auto bias = random_vector(s.out_c, rng, 0.0, 0.2);
  const int ph = s.out_h() / 2, pw = s.out_w() / 2;
  const auto r = random_vector(std::size_t(n) * ph * pw * s.out_c, rng, -1, 1);
  std::vector<double> dk(kernel.size()), db(bias.size()), dx(x.size()), y(r.size()), dy = r;
  Conv2DPool<double> layer(s, n, need_dx, kernel.data(), bias.data(), dk.data(), db.data());
  auto loss = [&] {
    layer.forward(x.data(), y.data(), n);
    return test::dot(y.data(), r.data(), y.size());
  };
  loss();
  layer.backward(x.data(), y.data(), dy.data(), need_dx ? dx.data() : nullptr, n);
  const test::GradientChecker checker{.sample = 300};
  checker.check(kernel, dk, loss, "dkernel");
  checker.check(bias, db, loss, "dbias");
  if (need_dx) checker.check(x, dx, loss, "dx");
}

TEST(Conv2DPool, GradientCheck) {
  gradient_check({7, 8, 3, 4}, true, 3);   // GEMM path
  gradient_check({6, 7, 1, 32}, false, 4);  // the direct first-layer path
  gradient_check({6, 6, 32, 64}, true, 5);  // the sparse path
}

}  // namespace
}  // namespace fmnist
