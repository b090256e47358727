// Checks every layer's tests make (tests/test_nn_layers.cpp, test_nn_depthwise.cpp): a double
// layer's input and parameter gradients against central differences (the one checker of
// grad_check.hpp), and a float layer's results unchanged when its buffers move.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "fmnist/layers.hpp"
#include "grad_check.hpp"
#include "naive_conv.hpp"

namespace fmnist::test {

// What a convolution layer (conv: a NaiveConv or NaiveDepthwise) with a relu or linear activation
// must give: y = act(pre) (naive_conv_activation) and the gradients of sum(y * dy) through the activation.
struct ConvReference {
  std::vector<double> y;
  ConvGradients grads;
};
template <typename Naive>
std::vector<double> naive_conv_activation(const Naive& conv, const ConvShape& s, Activation act, int n) {
  std::vector<double> y(n * s.out_size());
  std::size_t at = 0;
  for (int b = 0; b < n; ++b)
    for (int oh = 0; oh < s.out_h(); ++oh)
      for (int ow = 0; ow < s.out_w(); ++ow)
        for (int co = 0; co < s.out_c; ++co, ++at) {
          const double pre = conv.pre(b, oh, ow, co);
          y[at] = act == Activation::linear || pre > 0 ? pre : 0.0;
        }
  return y;
}
template <typename Naive>
ConvReference naive_conv_reference(const Naive& conv, const ConvShape& s, Activation act, const std::vector<double>& dy,
                                   int n) {
  ConvReference r{naive_conv_activation(conv, s, act, n), conv.zero_gradients(n)};
  std::size_t at = 0;
  for (int b = 0; b < n; ++b)
    for (int oh = 0; oh < s.out_h(); ++oh)
      for (int ow = 0; ow < s.out_w(); ++ow)
        for (int co = 0; co < s.out_c; ++co, ++at) {
          const bool pass = act == Activation::linear || r.y[at] > 0;  // relu passes where pre > 0
          conv.backprop(b, oh, ow, co, pass ? dy[at] : 0.0, r.grads);
        }
  return r;
}

// Runs the layer that make(kernel, bias, dkernel, dbias) builds in T (a unique_ptr) (bias and dbias null when bias
// is empty) forward and backward on x and dy, and expects y and the gradients of `want` to a relative
// tolerance. The gradient buffers start non-zero: the layer must add to them.
template <typename T, typename Make>
void expect_conv_reference(const ConvReference& want, const ConvShape& s, const std::vector<double>& x,
                           const std::vector<double>& kernel, const std::vector<double>& bias,
                           const std::vector<double>& dy, int n, double tolerance, Make&& make) {
  const auto xt = cast<T>(x), kt = cast<T>(kernel), bt = cast<T>(bias);
  const bool has_bias = !bias.empty();
  std::vector<T> dkernel(kernel.size(), T(0.5)), dbias(s.out_c, T(-0.25));
  auto layer = make(kt.data(), has_bias ? bt.data() : nullptr, dkernel.data(), has_bias ? dbias.data() : nullptr);
  std::vector<T> y(n * s.out_size()), dyt = cast<T>(dy);
  std::vector<T> dx(n * s.in_size(), std::numeric_limits<T>::quiet_NaN());
  layer->forward(xt.data(), y.data(), n);
  layer->backward(xt.data(), y.data(), dyt.data(), dx.data(), n);
  for (auto& v : dkernel) v -= T(0.5);
  for (auto& v : dbias) v += T(0.25);
  EXPECT_LE(max_rel_diff(y, want.y), tolerance) << "forward";
  EXPECT_LE(max_rel_diff(dkernel, want.grads.dkernel), tolerance) << "dkernel";
  if (has_bias) {
    EXPECT_LE(max_rel_diff(dbias, want.grads.dbias), tolerance) << "dbias";
  }
  EXPECT_LE(max_rel_diff(dx, want.grads.dx), tolerance) << "dx";
}

// L = sum(r * layer(x)) for a double layer: checks dL/dx and, when given, dL/dparams (params is
// the arena the layer views, grads its gradient). train: the Dropout context (null: evaluation).
inline void check_layer_gradients(Layer<double>& layer, std::vector<double>& x, std::size_t out_size, int n,
                                  std::vector<double>* params, std::vector<double>* grads, const DropoutContext* train,
                                  std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const auto r = random_vector(out_size * n, rng);
  std::vector<double> y(r.size()), dx(x.size());
  auto loss = [&] {
    layer.forward(x.data(), y.data(), n, train);
    return dot(y.data(), r.data(), y.size());
  };
  loss();
  if (grads != nullptr) std::fill(grads->begin(), grads->end(), 0.0);
  std::vector<double> dy = r;
  layer.backward(x.data(), y.data(), dy.data(), dx.data(), n);
  const GradientChecker checker;
  EXPECT_GT(checker.check(x, dx, loss, "dx").largest, 0);
  if (params != nullptr) {
    EXPECT_GT(checker.check(*params, *grads, loss, "dparams").largest, 0);
  }
}

// Every process allocates its buffers elsewhere: the bytes a layer computes must not depend on
// their alignment, or N ranks would not reproduce one rank. Each buffer is shifted by 0..3 floats.
template <typename Make>
void expect_alignment_free(std::size_t in_size, std::size_t out_size, std::size_t params, int n, Make&& make) {
  std::mt19937_64 rng(51);
  const auto x0 = cast<float>(random_vector(in_size * n, rng)), dy0 = cast<float>(random_vector(out_size * n, rng));
  const auto p0 = cast<float>(random_vector(params, rng, -0.3, 0.3));
  std::vector<float> first;
  for (std::size_t shift = 0; shift < 4; ++shift) {
    auto at = [&](const std::vector<float>& v) {
      std::vector<float> shifted(shift, 0.0f);
      shifted.insert(shifted.end(), v.begin(), v.end());
      return shifted;
    };
    std::vector<float> x = at(x0), dy = at(dy0), p = at(p0), g = at(std::vector<float>(params, 0.0f));
    std::vector<float> y = at(std::vector<float>(out_size * n)), dx = at(std::vector<float>(in_size * n));
    auto layer = make(p.data() + shift, g.data() + shift);
    layer->forward(x.data() + shift, y.data() + shift, n, nullptr);
    layer->backward(x.data() + shift, y.data() + shift, dy.data() + shift, dx.data() + shift, n);
    std::vector<float> all(y.begin() + shift, y.end());
    all.insert(all.end(), dx.begin() + shift, dx.end());
    all.insert(all.end(), g.begin() + shift, g.end());
    if (shift == 0) first = all;
    EXPECT_TRUE(all == first) << "the results moved with the buffers, shifted by " << shift << " floats";
  }
}

}  // namespace fmnist::test
