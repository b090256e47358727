// The naive reference convolution (3x3 valid, NHWC, double) that the fast kernels are tested
// against: one output pixel's pre-activation by the 7-loop definition, and the gradients that a
// gradient g at that pixel sends to the kernel, the bias and the input.
#pragma once

#include <cstddef>
#include <vector>

#include "fmnist/layers.hpp"

namespace fmnist::test {

// Gradients of the reference, accumulated pixel by pixel.
struct ConvGradients {
  std::vector<double> dkernel, dbias, dx;
};

struct NaiveConv {
  const ConvShape& s;
  const std::vector<double>& x;       // (n, in_h, in_w, in_c)
  const std::vector<double>& kernel;  // (3, 3, in_c, out_c)
  const std::vector<double>& bias;    // (out_c)

  std::size_t xi(int b, int h, int w, int c) const { return ((std::size_t(b) * s.in_h + h) * s.in_w + w) * s.in_c + c; }
  std::size_t ki(int kh, int kw, int ci, int co) const { return ((std::size_t(kh) * 3 + kw) * s.in_c + ci) * s.out_c + co; }

  ConvGradients zero_gradients(int n) const {
    return {std::vector<double>(s.kernel_size(), 0.0), std::vector<double>(s.out_c, 0.0),
            std::vector<double>(n * s.in_size(), 0.0)};
  }

  // bias + sum over the 3x3 window and the input channels, before the ReLU.
  double pre(int b, int oh, int ow, int co) const {
    double acc = bias[co];
    for (int kh = 0; kh < 3; ++kh)
      for (int kw = 0; kw < 3; ++kw)
        for (int ci = 0; ci < s.in_c; ++ci) acc += x[xi(b, oh + kh, ow + kw, ci)] * kernel[ki(kh, kw, ci, co)];
    return acc;
  }

  // g = dL/d(pre-activation) at pixel (b, oh, ow, co), sent back to the parameters and the input.
  void backprop(int b, int oh, int ow, int co, double g, ConvGradients& r) const {
    r.dbias[co] += g;
    for (int kh = 0; kh < 3; ++kh)
      for (int kw = 0; kw < 3; ++kw)
        for (int ci = 0; ci < s.in_c; ++ci) {
          r.dkernel[ki(kh, kw, ci, co)] += x[xi(b, oh + kh, ow + kw, ci)] * g;
          r.dx[xi(b, oh + kh, ow + kw, ci)] += kernel[ki(kh, kw, ci, co)] * g;
        }
  }
};

}  // namespace fmnist::test
