// The im2col + GEMM backward of convolutions in NHWC, shared by Conv2D and Conv2DPool, over a
// list of output pixels (their bases in the padded input of direct_conv.hpp). A pixel's col row
// is its kernel_h runs of kernel_w * in_c inputs, each one memcpy from the padded images (padding
// is zeros there, so no branch per value). Images go through in chunks whose col stays in L2.
#pragma once

#include "eigen_views.hpp"  // first: it includes the intrinsics headers

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "direct_conv.hpp"

namespace fmnist::detail {

// col (n * pixels, patch) from the padded images xp (n, g.h, g.w, in_c).
template <typename T>
void im2col(const PaddedInput& g, const std::vector<std::uint32_t>& bases, const T* xp, T* col, int n) {
  for (int img = 0; img < n; ++img) {
    const T* xi = xp + img * g.image;
    for (const std::uint32_t b : bases) {
      for (int kh = 0; kh < g.s.kernel_h; ++kh, col += g.run) std::memcpy(col, xi + b + kh * g.row, g.run * sizeof(T));
    }
  }
}

// dxp (n, g.h, g.w, in_c) += the dcol (n * pixels, patch) runs, each added where im2col took it.
template <typename T>
void col2im(const PaddedInput& g, const std::vector<std::uint32_t>& bases, const T* dcol, T* dxp, int n) {
  for (int img = 0; img < n; ++img) {
    T* di = dxp + img * g.image;
    for (const std::uint32_t b : bases) {
      for (int kh = 0; kh < g.s.kernel_h; ++kh, dcol += g.run) {
        T* __restrict d = di + b + kh * g.row;
        const T* __restrict s = dcol;
        for (int i = 0; i < g.run; ++i) d[i] += s[i];
      }
    }
  }
}

// Images per im2col chunk: col (rows, patch) near 64K values (256 KB of floats, half of L2),
// at least one image. A function of the shape alone, so the sums' order never depends on the batch.
inline int gemm_chunk_images(std::size_t pixels, std::size_t patch) {
  return int(std::max<std::size_t>(1, (std::size_t(1) << 16) / (pixels * patch)));
}

// For dz (nc * pixels, out_c) = dL/dz at the pixels of nc padded images xp: dkernel += col^T . dz
// (col recomputed: cheaper than storing it), and if dxp is not null, dxp += col2im(dz . kernel^T).
template <typename T>
void conv_gemm_backward(const PaddedInput& g, const std::vector<std::uint32_t>& bases, const T* xp, const T* kernel,
                        const T* dz, T* col, T* dcol, T* dkernel, T* dxp, int nc) {
  const int rows = nc * static_cast<int>(bases.size()), k = static_cast<int>(g.s.patch());
  const ConstMapRM<T> dz_map(dz, rows, g.s.out_c);
  im2col(g, bases, xp, col, nc);
  MapRM<T>(dkernel, k, g.s.out_c).noalias() += ConstMapRM<T>(col, rows, k).transpose() * dz_map;
  if (dxp == nullptr) return;
  MapRM<T>(dcol, rows, k).noalias() = dz_map * ConstMapRM<T>(kernel, k, g.s.out_c).transpose();
  col2im(g, bases, dcol, dxp, nc);
}

}  // namespace fmnist::detail
