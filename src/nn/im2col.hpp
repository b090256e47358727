// The im2col + GEMM path of convolutions in NHWC, shared by Conv2D and Conv2DPool, over the
// output pixels in a given order: row-major for Conv2D, window by window (only the pixels the 2x2
// pooling reads) for Conv2DPool. A pixel's col row is its kernel_h runs of kernel_w * in_c inputs
// (contiguous in NHWC); the parts of a run that fall on "same" padding are zeros. Images go
// through in chunks whose col stays near L2.
#pragma once

#include "eigen_views.hpp"  // first: it includes the intrinsics headers

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "fmnist/layers.hpp"

namespace fmnist::detail {

// An output pixel (oh, ow), packed.
inline std::uint32_t pixel(int oh, int ow) { return std::uint32_t(oh) << 16 | std::uint32_t(ow); }
inline int pixel_row(std::uint32_t p) { return int(p >> 16); }
inline int pixel_col(std::uint32_t p) { return int(p & 0xFFFF); }

// Every output pixel, row by row: (out_h * out_w).
inline std::vector<std::uint32_t> pixels_row_major(const ConvShape& s) {
  std::vector<std::uint32_t> pixels;
  for (int oh = 0; oh < s.out_h(); ++oh)
    for (int ow = 0; ow < s.out_w(); ++ow) pixels.push_back(pixel(oh, ow));
  return pixels;
}

// The four pixels of every 2x2 pooling window of the output, window by window: (pool_h * pool_w * 4).
inline std::vector<std::uint32_t> pixels_by_window(const ConvShape& s) {
  std::vector<std::uint32_t> pixels;
  for (int ph = 0; ph < s.out_h() / 2; ++ph)
    for (int pw = 0; pw < s.out_w() / 2; ++pw)
      for (int a = 0; a < 4; ++a) pixels.push_back(pixel(2 * ph + (a >> 1), 2 * pw + (a & 1)));
  return pixels;
}

// Calls run(kernel_row, ih, kw_lo, kw_hi, iw0) for every kernel row of output pixel p: the
// row reads input row ih (outside the image: kw_lo == kw_hi) at columns iw0 + [kw_lo, kw_hi).
template <typename Run>
inline void for_each_kernel_row(const ConvShape& s, std::uint32_t p, Run&& run) {
  const int ih0 = pixel_row(p) * s.stride_h - s.pad_top(), iw0 = pixel_col(p) * s.stride_w - s.pad_left();
  const int kw_lo = std::max(0, -iw0), kw_hi = std::max(kw_lo, std::min(s.kernel_w, s.in_w - iw0));
  for (int kh = 0; kh < s.kernel_h; ++kh) {
    const int ih = ih0 + kh;
    const bool inside = ih >= 0 && ih < s.in_h;
    run(kh, ih, kw_lo, inside ? kw_hi : kw_lo, iw0);
  }
}

// col (n * pixels, patch) from x (n, in_h, in_w, in_c).
template <typename T>
void im2col(const ConvShape& s, const std::vector<std::uint32_t>& pixels, const T* x, T* col, int n) {
  const std::size_t c = std::size_t(s.in_c), run = std::size_t(s.kernel_w) * c;
  for (int img = 0; img < n; ++img) {
    const T* xi = x + img * s.in_size();
    for (const std::uint32_t p : pixels) {
      for_each_kernel_row(s, p, [&](int, int ih, int lo, int hi, int iw0) {
        std::fill(col, col + lo * c, T(0));
        if (hi > lo) std::memcpy(col + lo * c, xi + (std::size_t(ih) * s.in_w + iw0 + lo) * c, (hi - lo) * c * sizeof(T));
        std::fill(col + hi * c, col + run, T(0));
        col += run;
      });
    }
  }
}

// dx (n, in_h, in_w, in_c) = the dcol (n * pixels, patch) runs summed over their windows
// (the parts on padding are dropped).
template <typename T>
void col2im(const ConvShape& s, const std::vector<std::uint32_t>& pixels, const T* dcol, T* dx, int n) {
  const std::size_t c = std::size_t(s.in_c), run = std::size_t(s.kernel_w) * c;
  std::fill(dx, dx + n * s.in_size(), T(0));
  for (int img = 0; img < n; ++img) {
    T* dxi = dx + img * s.in_size();
    for (const std::uint32_t p : pixels) {
      for_each_kernel_row(s, p, [&](int, int ih, int lo, int hi, int iw0) {
        if (hi > lo) {
          T* __restrict d = dxi + (std::size_t(ih) * s.in_w + iw0 + lo) * c;
          const T* __restrict g = dcol + lo * c;
          for (std::size_t i = 0, m = (hi - lo) * c; i < m; ++i) d[i] += g[i];
        }
        dcol += run;
      });
    }
  }
}

// Images per chunk when each image has `pixels` output rows: about 1024 rows per GEMM.
inline int chunk_images(std::size_t pixels) { return std::max(1, 1024 / static_cast<int>(pixels)); }

// z (nc * pixels, out_c) = im2col(x) . kernel, for nc images of x; col is the workspace.
template <typename T>
void conv_gemm_forward(const ConvShape& s, const std::vector<std::uint32_t>& pixels, const T* x, const T* kernel,
                       T* col, T* z, int nc) {
  const int rows = nc * static_cast<int>(pixels.size()), k = static_cast<int>(s.patch());
  im2col(s, pixels, x, col, nc);
  MapRM<T>(z, rows, s.out_c).noalias() = ConstMapRM<T>(col, rows, k) * ConstMapRM<T>(kernel, k, s.out_c);
}

// For dz (nc * pixels, out_c) = dL/dz of conv_gemm_forward: dkernel += im2col(x)^T . dz (col
// recomputed: cheaper than storing it), and if dx is not null dx = col2im(dz . kernel^T).
template <typename T>
void conv_gemm_backward(const ConvShape& s, const std::vector<std::uint32_t>& pixels, const T* x, const T* kernel,
                        const T* dz, T* col, T* dcol, T* dkernel, T* dx, int nc) {
  const int rows = nc * static_cast<int>(pixels.size()), k = static_cast<int>(s.patch());
  const ConstMapRM<T> dz_map(dz, rows, s.out_c);
  im2col(s, pixels, x, col, nc);
  MapRM<T>(dkernel, k, s.out_c).noalias() += ConstMapRM<T>(col, rows, k).transpose() * dz_map;
  if (dx == nullptr) return;
  MapRM<T>(dcol, rows, k).noalias() = dz_map * ConstMapRM<T>(kernel, k, s.out_c).transpose();
  col2im(s, pixels, dcol, dx, nc);
}

}  // namespace fmnist::detail
