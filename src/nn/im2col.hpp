// The im2col + GEMM path of 3x3 valid convolutions in NHWC, shared by Conv2D and Conv2DPool,
// over the output pixels in a given order: row-major for Conv2D, window by window (only the
// pixels the 2x2 pooling reads) for Conv2DPool. A pixel is named by its offset in the image,
// oh * in_w * in_c + ow * in_c; its col row is the three contiguous runs of 3 * in_c inputs under
// the kernel. Images go through in chunks whose col stays near L2.
#pragma once

#include "eigen_views.hpp"  // first: it includes the intrinsics headers

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "fmnist/layers.hpp"

namespace fmnist::detail {

// Every output pixel, row by row: (out_h * out_w).
inline std::vector<std::uint32_t> pixels_row_major(const ConvShape& s) {
  std::vector<std::uint32_t> pixels;
  for (int oh = 0; oh < s.out_h(); ++oh)
    for (int ow = 0; ow < s.out_w(); ++ow) pixels.push_back(std::uint32_t((oh * s.in_w + ow) * s.in_c));
  return pixels;
}

// The four pixels of every 2x2 pooling window, window by window: (pool_h * pool_w * 4).
inline std::vector<std::uint32_t> pixels_by_window(const ConvShape& s) {
  std::vector<std::uint32_t> pixels;
  for (int ph = 0; ph < s.out_h() / 2; ++ph)
    for (int pw = 0; pw < s.out_w() / 2; ++pw)
      for (int a = 0; a < 4; ++a)
        pixels.push_back(std::uint32_t(((2 * ph + (a >> 1)) * s.in_w + 2 * pw + (a & 1)) * s.in_c));
  return pixels;
}

// col (n * pixels, 9 * in_c) from x (n, in_h, in_w, in_c).
template <typename T>
void im2col(const ConvShape& s, const std::vector<std::uint32_t>& pixels, const T* x, T* col, int n) {
  const std::size_t run = std::size_t(3) * s.in_c;
  const std::size_t row_stride = std::size_t(s.in_w) * s.in_c;
  for (int img = 0; img < n; ++img) {
    const T* xi = x + img * s.in_size();
    for (const std::uint32_t p : pixels) {
      for (int kh = 0; kh < 3; ++kh) {
        std::memcpy(col, xi + p + kh * row_stride, run * sizeof(T));
        col += run;
      }
    }
  }
}

// dx (n, in_h, in_w, in_c) = the dcol (n * pixels, 9 * in_c) runs summed over their windows.
template <typename T>
void col2im(const ConvShape& s, const std::vector<std::uint32_t>& pixels, const T* dcol, T* dx, int n) {
  const std::size_t run = std::size_t(3) * s.in_c;
  const std::size_t row_stride = std::size_t(s.in_w) * s.in_c;
  std::fill(dx, dx + n * s.in_size(), T(0));
  for (int img = 0; img < n; ++img) {
    T* dxi = dx + img * s.in_size();
    for (const std::uint32_t p : pixels) {
      for (int kh = 0; kh < 3; ++kh) {
        T* __restrict d = dxi + p + kh * row_stride;
        for (std::size_t i = 0; i < run; ++i) d[i] += dcol[i];
        dcol += run;
      }
    }
  }
}

// Images per chunk when each image has `pixels` output rows: about 1024 rows per GEMM.
inline int chunk_images(std::size_t pixels) { return std::max(1, 1024 / static_cast<int>(pixels)); }

// z (nc * pixels, out_c) = im2col(x) . kernel, for nc images of x; col is the workspace.
template <typename T>
void conv_gemm_forward(const ConvShape& s, const std::vector<std::uint32_t>& pixels, const T* x, const T* kernel,
                       T* col, T* z, int nc) {
  const int rows = nc * static_cast<int>(pixels.size()), k = 9 * s.in_c;
  im2col(s, pixels, x, col, nc);
  MapRM<T>(z, rows, s.out_c).noalias() = ConstMapRM<T>(col, rows, k) * ConstMapRM<T>(kernel, k, s.out_c);
}

// For dz (nc * pixels, out_c) = dL/dz of conv_gemm_forward: dkernel += im2col(x)^T . dz (col
// recomputed: cheaper than storing it), and if dx is not null dx = col2im(dz . kernel^T).
template <typename T>
void conv_gemm_backward(const ConvShape& s, const std::vector<std::uint32_t>& pixels, const T* x, const T* kernel,
                        const T* dz, T* col, T* dcol, T* dkernel, T* dx, int nc) {
  const int rows = nc * static_cast<int>(pixels.size()), k = 9 * s.in_c;
  const ConstMapRM<T> dz_map(dz, rows, s.out_c);
  im2col(s, pixels, x, col, nc);
  MapRM<T>(dkernel, k, s.out_c).noalias() += ConstMapRM<T>(col, rows, k).transpose() * dz_map;
  if (dx == nullptr) return;
  MapRM<T>(dcol, rows, k).noalias() = dz_map * ConstMapRM<T>(kernel, k, s.out_c).transpose();
  col2im(s, pixels, dcol, dx, nc);
}

}  // namespace fmnist::detail
