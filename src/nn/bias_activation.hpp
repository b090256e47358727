// Private to src/nn: the last step of the convolutions' forward (Conv2D, DepthwiseConv2D,
// SeparableConv2D), the bias and relu or linear over rows of sums, and the first step of their
// backward, dy masked where the ReLU did not pass (and the bias gradient summed in the same pass);
// one value at a time, in a fixed order.
#pragma once

#include <algorithm>
#include <cstddef>

namespace fmnist::detail {

// y (rows, out_c) = act(z (rows, cp) + bias); bias may be null; z may be y (cp == out_c).
template <typename T>
void add_bias_activation(const T* z, std::size_t cp, const T* bias, bool relu, std::size_t rows, int out_c, T* y) {
  if (z == y && bias == nullptr && !relu) return;  // nothing to do: no pass over y
  for (std::size_t r = 0; r < rows; ++r, z += cp, y += out_c) {
    for (int c = 0; c < out_c; ++c) {
      const T v = bias != nullptr ? z[c] + bias[c] : z[c];
      y[c] = relu ? std::max(v, T(0)) : v;
    }
  }
}

// dy (count) *= (y > 0).
template <typename T>
void relu_mask(const T* y, T* dy, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) dy[i] = y[i] > T(0) ? dy[i] : T(0);
}

// dy (rows, cols) *= (y > 0) if relu, and sums (cols) += its column sums, row after row (the order
// of add_column_sums, so the same bytes), in one pass over dy.
template <typename T>
void mask_and_sum_columns(const T* __restrict y, T* __restrict dy, std::size_t rows, int cols, bool relu,
                          T* __restrict sums) {
  for (std::size_t r = 0; r < rows; ++r, y += cols, dy += cols) {
    for (int c = 0; c < cols; ++c) {
      const T g = relu && !(y[c] > T(0)) ? T(0) : dy[c];
      dy[c] = g;
      sums[c] += g;
    }
  }
}

}  // namespace fmnist::detail
