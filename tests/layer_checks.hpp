// Checks every layer's tests make (tests/test_nn_layers.cpp, test_nn_depthwise.cpp): a double
// layer's input and parameter gradients against central differences (the one checker of
// grad_check.hpp), and a float layer's results unchanged when its buffers move.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "fmnist/layers.hpp"
#include "grad_check.hpp"

namespace fmnist::test {

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
