// The im2col + GEMM backward of convolutions in NHWC (dW and dX), shared by Conv2D and Conv2DPool, over a
// list of output pixels (their bases in the padded input of direct_conv.hpp). A pixel's col row
// is its runs of inputs (PaddedInput: kernel_h runs of kernel_w * in_c, or kernel_h * kernel_w runs
// of in_c with dilated taps), each one memcpy from the padded images (padding is zeros there, so no
// branch per value). Images go through in chunks whose col stays in L2.
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
      for (int k = 0; k < g.runs; ++k, col += g.run) std::memcpy(col, xi + b + g.run_offset(k), g.run * sizeof(T));
    }
  }
}

// dxp (n, g.h, g.w, in_c) += the dcol (n * pixels, patch) runs, each added where im2col took it.
template <typename T>
void col2im(const PaddedInput& g, const std::vector<std::uint32_t>& bases, const T* dcol, T* dxp, int n) {
  for (int img = 0; img < n; ++img) {
    T* di = dxp + img * g.image;
    for (const std::uint32_t b : bases) {
      for (int k = 0; k < g.runs; ++k, dcol += g.run) {
        T* __restrict d = di + b + g.run_offset(k);
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

// dz (nc * pixels, out_c, rows ldz apart) as an Eigen view.
template <typename T>
using ConstMapStrided = Eigen::Map<const MatrixRM<T>, 0, Eigen::OuterStride<>>;

// For dz (nc * pixels, out_c, rows ldz apart) = dL/dz at the pixels of nc padded images xp:
// dkernel (patch, out_c) += col^T . dz, col (nc * pixels, patch) the workspace.
template <typename T>
void conv_gemm_dkernel(const PaddedInput& g, const std::vector<std::uint32_t>& bases, const T* xp, const T* dz,
                       std::size_t ldz, T* col, T* dkernel, int nc) {
  const int rows = nc * static_cast<int>(bases.size()), k = static_cast<int>(g.s.patch());
  im2col(g, bases, xp, col, nc);
  MapRM<T>(dkernel, k, g.s.out_c).noalias() +=
      ConstMapRM<T>(col, rows, k).transpose() * ConstMapStrided<T>(dz, rows, g.s.out_c, Eigen::OuterStride<>(ldz));
}

// dxp += col2im(dz . kernel^T) for the same dz; dcol (nc * pixels, patch) the workspace.
template <typename T>
void conv_gemm_dinput(const PaddedInput& g, const std::vector<std::uint32_t>& bases, const T* kernel, const T* dz,
                      std::size_t ldz, T* dcol, T* dxp, int nc) {
  const int rows = nc * static_cast<int>(bases.size()), k = static_cast<int>(g.s.patch());
  MapRM<T>(dcol, rows, k).noalias() = ConstMapStrided<T>(dz, rows, g.s.out_c, Eigen::OuterStride<>(ldz)) *
                                      ConstMapRM<T>(kernel, k, g.s.out_c).transpose();
  col2im(g, bases, dcol, dxp, nc);
}

}  // namespace fmnist::detail
