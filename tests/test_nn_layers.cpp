// Tests of each layer on its own: double-precision gradient checks against central differences
// (input and parameter gradients), the fast convolution against a naive 7-loop reference at the
// model's real shapes in float and double, max pooling's floor (11 -> 5) and the loss's stability.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <vector>

#include "fmnist/layers.hpp"
#include "naive_conv.hpp"

namespace fmnist {
namespace {

std::vector<double> random_vector(std::size_t size, std::mt19937_64& rng, double lo = -1,
                                  double hi = 1) {
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<double> v(size);
  for (double& x : v) x = dist(rng);
  return v;
}

template <typename T>
std::vector<T> cast(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += a[i] * b[i];
  return sum;
}

// The gradient checker: compares analytic[i] with the central difference of loss() with respect
// to v[i], for every i; v is restored afterwards.
void expect_gradient(std::vector<double>& v, const std::vector<double>& analytic,
                     const std::function<double()>& loss, const char* what) {
  ASSERT_EQ(v.size(), analytic.size()) << what;
  constexpr double kEps = 1e-5;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const double saved = v[i];
    v[i] = saved + kEps;
    const double up = loss();
    v[i] = saved - kEps;
    const double down = loss();
    v[i] = saved;
    const double numeric = (up - down) / (2 * kEps);
    const double scale = std::max({std::abs(numeric), std::abs(analytic[i]), 1e-3});
    EXPECT_LE(std::abs(numeric - analytic[i]) / scale, 1e-6)
        << what << "[" << i << "]: numeric " << numeric << " analytic " << analytic[i];
  }
}

// ---- Conv2D -------------------------------------------------------------------------------------

struct ConvReference {
  std::vector<double> y, dkernel, dbias, dx;
};

// The naive reference: y = relu(conv(x) + b), and for dL/dy = dy the gradients through the ReLU.
ConvReference naive_conv(const ConvShape& s, const std::vector<double>& x,
                         const std::vector<double>& kernel, const std::vector<double>& bias,
                         const std::vector<double>& dy, int n) {
  const test::NaiveConv conv{s, x, kernel, bias};
  test::ConvGradients g = conv.zero_gradients(n);
  std::vector<double> y(n * s.out_size(), 0.0);
  std::size_t at = 0;  // (b, oh, ow, co) in row-major order
  for (int b = 0; b < n; ++b)
    for (int oh = 0; oh < s.out_h(); ++oh)
      for (int ow = 0; ow < s.out_w(); ++ow)
        for (int co = 0; co < s.out_c; ++co, ++at) {
          const double acc = conv.pre(b, oh, ow, co);
          y[at] = std::max(acc, 0.0);
          conv.backprop(b, oh, ow, co, acc > 0 ? dy[at] : 0.0, g);
        }
  return {std::move(y), std::move(g.dkernel), std::move(g.dbias), std::move(g.dx)};
}

// Largest |a - b| relative to the largest |b|.
template <typename T>
double max_rel_diff(const std::vector<T>& a, const std::vector<double>& b) {
  double diff = 0, scale = 1e-30;
  for (std::size_t i = 0; i < b.size(); ++i) {
    diff = std::max(diff, std::abs(double(a[i]) - b[i]));
    scale = std::max(scale, std::abs(b[i]));
  }
  return diff / scale;
}

template <typename T>
void check_conv_against_naive(const ConvShape& s, int n, int max_batch, double tolerance) {
  std::mt19937_64 rng(7 + s.in_c);
  const auto x = random_vector(n * s.in_size(), rng);
  const auto kernel = random_vector(s.kernel_size(), rng, -0.3, 0.3);
  const auto bias = random_vector(s.out_c, rng, -0.2, 0.2);
  const auto dy = random_vector(n * s.out_size(), rng);
  const ConvReference ref = naive_conv(s, x, kernel, bias, dy, n);

  const auto xt = cast<T>(x), kt = cast<T>(kernel), bt = cast<T>(bias);
  std::vector<T> dkernel(s.kernel_size(), T(0.5)), dbias(s.out_c, T(-0.25));  // backward adds
  Conv2D<T> conv(s, max_batch, true, kt.data(), bt.data(), dkernel.data(), dbias.data());
  std::vector<T> y(n * s.out_size()), dyt = cast<T>(dy);
  std::vector<T> dx(n * s.in_size(), std::numeric_limits<T>::quiet_NaN());
  conv.forward(xt.data(), y.data(), n);
  conv.backward(xt.data(), y.data(), dyt.data(), dx.data(), n);
  for (auto& v : dkernel) v -= T(0.5);
  for (auto& v : dbias) v += T(0.25);

  EXPECT_LE(max_rel_diff(y, ref.y), tolerance) << "forward";
  EXPECT_LE(max_rel_diff(dkernel, ref.dkernel), tolerance) << "dkernel";
  EXPECT_LE(max_rel_diff(dbias, ref.dbias), tolerance) << "dbias";
  EXPECT_LE(max_rel_diff(dx, ref.dx), tolerance) << "dx";
  EXPECT_EQ(std::count_if(dx.begin(), dx.end(), [](T v) { return std::isnan(v); }), 0);
}

// The model's three convolutions; n spans several GEMM chunks and is below max_batch.
const ConvShape kConv0{28, 28, 1, 32}, kConv1{13, 13, 32, 64}, kConv2{5, 5, 64, 64};

TEST(Conv2D, MatchesNaiveFloat) {
  for (const ConvShape& s : {kConv0, kConv1, kConv2}) {
    SCOPED_TRACE(s.in_c);
    check_conv_against_naive<float>(s, 10, 12, 2e-5);
  }
}

TEST(Conv2D, MatchesNaiveDouble) {
  for (const ConvShape& s : {kConv0, kConv1, kConv2}) {
    SCOPED_TRACE(s.in_c);
    check_conv_against_naive<double>(s, 10, 12, 1e-12);
  }
}

TEST(Conv2D, LargeBatchMatchesNaive) {  // many chunks, and max_batch == n
  check_conv_against_naive<float>(kConv2, 130, 130, 2e-5);
  check_conv_against_naive<float>(kConv1, 17, 17, 2e-5);
}

// Gradient check of every input, kernel and bias entry for L = sum(r * conv(x)).
void gradient_check_conv(const ConvShape& s, int n) {
  std::mt19937_64 rng(11 + s.in_c * 100 + s.out_c);
  auto x = random_vector(n * s.in_size(), rng);
  auto kernel = random_vector(s.kernel_size(), rng, -0.5, 0.5);
  auto bias = random_vector(s.out_c, rng, -0.2, 0.2);
  const auto r = random_vector(n * s.out_size(), rng);
  std::vector<double> dkernel(s.kernel_size(), 0), dbias(s.out_c, 0), dx(n * s.in_size());
  Conv2D<double> conv(s, n, true, kernel.data(), bias.data(), dkernel.data(), dbias.data());
  std::vector<double> y(n * s.out_size());
  auto loss = [&] {
    conv.forward(x.data(), y.data(), n);
    return dot(y, r);
  };
  loss();
  std::vector<double> dy = r;
  conv.backward(x.data(), y.data(), dy.data(), dx.data(), n);
  expect_gradient(x, dx, loss, "dx");
  expect_gradient(kernel, dkernel, loss, "dkernel");
  expect_gradient(bias, dbias, loss, "dbias");
}

TEST(Conv2D, GradientCheckGemmPath) { gradient_check_conv({6, 5, 3, 4}, 2); }
TEST(Conv2D, GradientCheckSingleInputChannel) { gradient_check_conv({5, 4, 1, 3}, 3); }
TEST(Conv2D, GradientCheckFirstLayerChannels) { gradient_check_conv({5, 6, 1, 32}, 2); }

TEST(Conv2D, FirstLayerSkipsInputGradientAndAcceptsEmptyBatch) {
  const ConvShape s = kConv0;
  std::mt19937_64 rng(3);
  const auto x = random_vector(2 * s.in_size(), rng);
  const auto kernel = random_vector(s.kernel_size(), rng);
  const std::vector<double> bias(s.out_c, 0.1);
  std::vector<double> dkernel(s.kernel_size(), 0), dbias(s.out_c, 0);
  std::vector<double> y(2 * s.out_size()), dy(2 * s.out_size(), 1.0);
  Conv2D<double> conv(s, 2, false, kernel.data(), bias.data(), dkernel.data(), dbias.data());
  conv.forward(x.data(), y.data(), 0);
  conv.backward(x.data(), y.data(), dy.data(), nullptr, 0);
  EXPECT_TRUE(std::all_of(dkernel.begin(), dkernel.end(), [](double v) { return v == 0; }));
  conv.forward(x.data(), y.data(), 2);
  conv.backward(x.data(), y.data(), dy.data(), nullptr, 2);
  EXPECT_GT(std::abs(dbias[0]), 0);
  EXPECT_THROW(conv.forward(x.data(), y.data(), 3), std::invalid_argument);
}

// ---- MaxPool2D ----------------------------------------------------------------------------------

TEST(MaxPool2D, FloorsOddSizesElevenToFive) {
  const int h = 11, w = 11, c = 3, n = 2;
  MaxPool2D<float> pool(h, w, c, n);
  EXPECT_EQ(pool.out_h(), 5);
  EXPECT_EQ(pool.out_w(), 5);
  std::mt19937_64 rng(5);
  const auto x = cast<float>(random_vector(std::size_t(n) * h * w * c, rng));
  std::vector<float> y(std::size_t(n) * 5 * 5 * c);
  pool.forward(x.data(), y.data(), n);
  auto at = [&](int b, int i, int j, int k) { return x[((std::size_t(b) * h + i) * w + j) * c + k]; };
  for (int b = 0; b < n; ++b)
    for (int i = 0; i < 5; ++i)
      for (int j = 0; j < 5; ++j)
        for (int k = 0; k < c; ++k) {
          const float expected = std::max({at(b, 2 * i, 2 * j, k), at(b, 2 * i, 2 * j + 1, k),
                                           at(b, 2 * i + 1, 2 * j, k), at(b, 2 * i + 1, 2 * j + 1, k)});
          EXPECT_EQ(y[((std::size_t(b) * 5 + i) * 5 + j) * c + k], expected);
        }
  const std::vector<float> dy(y.size(), 1.0f);
  std::vector<float> dx(x.size(), std::numeric_limits<float>::quiet_NaN());
  pool.backward(dy.data(), dx.data(), n);
  double total = 0;
  for (int b = 0; b < n; ++b)
    for (int i = 0; i < h; ++i)
      for (int j = 0; j < w; ++j)
        for (int k = 0; k < c; ++k) {
          const float g = dx[((std::size_t(b) * h + i) * w + j) * c + k];
          ASSERT_FALSE(std::isnan(g)) << "unwritten dx at " << i << "," << j;
          if (i == 10 || j == 10) {
            EXPECT_EQ(g, 0.0f);
          }
          if (g != 0) {
            EXPECT_EQ(at(b, i, j, k), y[((std::size_t(b) * 5 + i / 2) * 5 + j / 2) * c + k]);
          }
          total += g;
        }
  EXPECT_EQ(total, double(y.size()));  // each output routes its gradient to exactly one input
}

TEST(MaxPool2D, TiesGoToTheFirstWindowPosition) {
  MaxPool2D<double> pool(2, 2, 1, 1);
  const std::vector<double> x = {1, 3, 3, 3};
  std::vector<double> y(1), dx(4);
  const std::vector<double> dy = {2};
  pool.forward(x.data(), y.data(), 1);
  pool.backward(dy.data(), dx.data(), 1);
  EXPECT_EQ(y[0], 3);
  EXPECT_EQ(dx, (std::vector<double>{0, 2, 0, 0}));
}

TEST(MaxPool2D, GradientCheck) {
  const int h = 5, w = 7, c = 3, n = 2;
  std::mt19937_64 rng(17);
  auto x = random_vector(std::size_t(n) * h * w * c, rng);
  MaxPool2D<double> pool(h, w, c, n);
  std::vector<double> y(std::size_t(n) * 2 * 3 * c), dx(x.size());
  const auto r = random_vector(y.size(), rng);
  auto loss = [&] {
    pool.forward(x.data(), y.data(), n);
    return dot(y, r);
  };
  loss();
  pool.backward(r.data(), dx.data(), n);
  expect_gradient(x, dx, loss, "dx");
}

// ---- Dense --------------------------------------------------------------------------------------

void gradient_check_dense(bool relu) {
  const int in = 7, out = 5, n = 3;
  std::mt19937_64 rng(relu ? 23 : 29);
  auto x = random_vector(std::size_t(n) * in, rng);
  auto kernel = random_vector(std::size_t(in) * out, rng);
  auto bias = random_vector(out, rng, -0.3, 0.3);
  const auto r = random_vector(std::size_t(n) * out, rng);
  std::vector<double> dkernel(kernel.size(), 0), dbias(out, 0), dx(x.size()), y(r.size());
  Dense<double> dense(in, out, relu, kernel.data(), bias.data(), dkernel.data(), dbias.data());
  auto loss = [&] {
    dense.forward(x.data(), y.data(), n);
    return dot(y, r);
  };
  loss();
  for (int i = 0; i < n; ++i)
    for (int o = 0; o < out; ++o) {
      double acc = bias[o];
      for (int k = 0; k < in; ++k) acc += x[i * in + k] * kernel[k * out + o];
      EXPECT_NEAR(y[i * out + o], relu ? std::max(acc, 0.0) : acc, 1e-12);
    }
  std::vector<double> dy = r;
  dense.backward(x.data(), y.data(), dy.data(), dx.data(), n);
  expect_gradient(x, dx, loss, "dx");
  expect_gradient(kernel, dkernel, loss, "dkernel");
  expect_gradient(bias, dbias, loss, "dbias");
}

TEST(Dense, GradientCheckWithRelu) { gradient_check_dense(true); }
TEST(Dense, GradientCheckLinear) { gradient_check_dense(false); }

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
  expect_gradient(logits, dlogits, [&] {
    return softmax_xent_forward(logits.data(), labels.data(), n, k).loss_sum;
  }, "dlogits");
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
  EXPECT_NEAR(softmax_xent_forward(logits.data(), first.data(), 2, 3).loss_sum,
              std::log(std::exp(-1.5) + 2) + std::log(3.0), 1e-12);
}

}  // namespace
}  // namespace fmnist
