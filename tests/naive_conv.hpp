// The naive references the fast layers are tested against, NHWC, double: the convolution by its
// 7-loop definition (any kernel, stride, dilation and TensorFlow "same" padding), the depthwise
// convolution (each input channel with its own depth_multiplier kernels), and max and average
// pooling window by window. Each gives the output and, for a gradient dy of the output, the
// gradients by the chain rule written out one value at a time.
#pragma once

#include <algorithm>
#include <cstddef>
#include <limits>
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
  const std::vector<double>& kernel;  // (kh, kw, in_c, out_c)
  const std::vector<double>& bias;    // (out_c), or empty: no bias

  std::size_t xi(int b, int h, int w, int c) const { return ((std::size_t(b) * s.in_h + h) * s.in_w + w) * s.in_c + c; }
  std::size_t ki(int kh, int kw, int ci, int co) const {
    return ((std::size_t(kh) * s.kernel_w + kw) * s.in_c + ci) * s.out_c + co;
  }
  // Input row and column under kernel tap (kh, kw) of output pixel (oh, ow); may be padding.
  int ih(int oh, int kh) const { return oh * s.stride_h - s.pad_top() + kh * s.dilation_h; }
  int iw(int ow, int kw) const { return ow * s.stride_w - s.pad_left() + kw * s.dilation_w; }
  bool inside(int h, int w) const { return h >= 0 && h < s.in_h && w >= 0 && w < s.in_w; }

  ConvGradients zero_gradients(int n) const {
    return {std::vector<double>(s.kernel_size(), 0.0), std::vector<double>(s.out_c, 0.0),
            std::vector<double>(n * s.in_size(), 0.0)};
  }

  // bias + sum over the window and the input channels (padding reads zeros), before the activation.
  double pre(int b, int oh, int ow, int co) const {
    double acc = bias.empty() ? 0.0 : bias[co];
    for (int kh = 0; kh < s.kernel_h; ++kh)
      for (int kw = 0; kw < s.kernel_w; ++kw)
        for (int ci = 0; ci < s.in_c; ++ci) {
          if (inside(ih(oh, kh), iw(ow, kw))) acc += x[xi(b, ih(oh, kh), iw(ow, kw), ci)] * kernel[ki(kh, kw, ci, co)];
        }
    return acc;
  }

  // g = dL/d(pre-activation) at pixel (b, oh, ow, co), sent back to the parameters and the input.
  void backprop(int b, int oh, int ow, int co, double g, ConvGradients& r) const {
    r.dbias[co] += g;
    for (int kh = 0; kh < s.kernel_h; ++kh)
      for (int kw = 0; kw < s.kernel_w; ++kw)
        for (int ci = 0; ci < s.in_c; ++ci) {
          if (!inside(ih(oh, kh), iw(ow, kw))) continue;
          r.dkernel[ki(kh, kw, ci, co)] += x[xi(b, ih(oh, kh), iw(ow, kw), ci)] * g;
          r.dx[xi(b, ih(oh, kh), iw(ow, kw), ci)] += kernel[ki(kh, kw, ci, co)] * g;
        }
  }
};

// The depthwise convolution (s.out_c = in_c * dm): output channel co = c * dm + m reads input
// channel c with kernel (kh, kw, c, m), the kernel (kh, kw, in_c, dm) == (kh, kw, out_c).
struct NaiveDepthwise {
  const ConvShape& s;
  int dm;
  const std::vector<double>& x;       // (n, in_h, in_w, in_c)
  const std::vector<double>& kernel;  // (kh, kw, in_c, dm)
  const std::vector<double>& bias;    // (out_c), or empty: no bias

  NaiveConv geometry() const { return {s, x, kernel, bias}; }
  std::size_t ki(int kh, int kw, int co) const { return (std::size_t(kh) * s.kernel_w + kw) * s.out_c + co; }

  double pre(int b, int oh, int ow, int co) const {
    const NaiveConv g = geometry();
    double acc = bias.empty() ? 0.0 : bias[co];
    for (int kh = 0; kh < s.kernel_h; ++kh)
      for (int kw = 0; kw < s.kernel_w; ++kw) {
        if (g.inside(g.ih(oh, kh), g.iw(ow, kw))) acc += x[g.xi(b, g.ih(oh, kh), g.iw(ow, kw), co / dm)] * kernel[ki(kh, kw, co)];
      }
    return acc;
  }

  void backprop(int b, int oh, int ow, int co, double grad, ConvGradients& r) const {
    const NaiveConv g = geometry();
    r.dbias[co] += grad;
    for (int kh = 0; kh < s.kernel_h; ++kh)
      for (int kw = 0; kw < s.kernel_w; ++kw) {
        if (!g.inside(g.ih(oh, kh), g.iw(ow, kw))) continue;
        const std::size_t at = g.xi(b, g.ih(oh, kh), g.iw(ow, kw), co / dm);
        r.dkernel[ki(kh, kw, co)] += x[at] * grad;
        r.dx[at] += kernel[ki(kh, kw, co)] * grad;
      }
  }

  ConvGradients zero_gradients(int n) const {
    return {std::vector<double>(std::size_t(s.kernel_h) * s.kernel_w * s.out_c, 0.0), std::vector<double>(s.out_c, 0.0),
            std::vector<double>(n * s.in_size(), 0.0)};
  }
};

// The reference output y and the gradients of L = sum(y * dy) of a pooling layer
// (s.out_c == s.in_c): max (first maximum in row-major window order wins) or average (over the
// window's real pixels).
struct PoolReference {
  std::vector<double> y, dx;
};

inline PoolReference naive_pool(const ConvShape& s, bool max, const std::vector<double>& x, const std::vector<double>& dy,
                                int n) {
  PoolReference r{std::vector<double>(n * s.out_size()), std::vector<double>(n * s.in_size(), 0.0)};
  const std::vector<double> no_bias;
  const NaiveConv geometry{s, x, x, no_bias};
  std::size_t at = 0;
  for (int b = 0; b < n; ++b)
    for (int oh = 0; oh < s.out_h(); ++oh)
      for (int ow = 0; ow < s.out_w(); ++ow)
        for (int c = 0; c < s.in_c; ++c, ++at) {
          std::vector<std::size_t> cover;  // the window's real pixels, row-major
          for (int kh = 0; kh < s.kernel_h; ++kh)
            for (int kw = 0; kw < s.kernel_w; ++kw) {
              const int h = geometry.ih(oh, kh), w = geometry.iw(ow, kw);
              if (geometry.inside(h, w)) cover.push_back(geometry.xi(b, h, w, c));
            }
          if (max) {
            std::size_t best = cover[0];
            for (std::size_t i : cover) {
              if (x[i] > x[best]) best = i;
            }
            r.y[at] = x[best];
            r.dx[best] += dy[at];
          } else {
            double sum = 0;
            for (std::size_t i : cover) sum += x[i];
            r.y[at] = sum / double(cover.size());
            for (std::size_t i : cover) r.dx[i] += dy[at] / double(cover.size());
          }
        }
  return r;
}

}  // namespace fmnist::test
