// Private to src/nn: convolution straight from the input, NHWC, any kernel, stride and padding.
// With "same" padding the input is first copied into a zero-padded buffer, so every output pixel
// reads kernel_h runs of kernel_w * in_c contiguous values at fixed offsets from its base, and no
// inner loop checks bounds. Forward: register blocks of 4 pixels x a few vectors of channels.
// Backward (sparse): dW and dX summed over a list of (pixel, gradient) entries, vector by vector.
#pragma once

#include "simd.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "fmnist/layers.hpp"

namespace fmnist::detail {

// The input as the convolution reads it: x itself, or (copy) a zero-padded copy holding the
// rows and columns that output pixels read, the image at (pad_top, pad_left).
struct PaddedInput {
  explicit PaddedInput(const ConvShape& shape)
      : s(shape),
        pad_top(shape.pad_top()),
        pad_left(shape.pad_left()),
        run(shape.kernel_w * shape.in_c) {
    const int reach_h = (s.out_h() - 1) * s.stride_h + s.kernel_h, reach_w = (s.out_w() - 1) * s.stride_w + s.kernel_w;
    copy = pad_top > 0 || pad_left > 0 || reach_h > s.in_h || reach_w > s.in_w;
    h = copy ? reach_h : s.in_h;
    w = copy ? reach_w : s.in_w;
    row = std::size_t(w) * s.in_c;
    image = std::size_t(h) * row;
  }

  ConvShape s;
  int pad_top, pad_left;
  int run;                 // kernel_w * in_c: the contiguous values of one kernel row
  bool copy;               // "same" padding that reaches outside the image: read a padded copy
  int h, w;                // rows and columns of an image as read
  std::size_t row, image;  // values per row and per image as read

  // The offset in its image of output pixel (oh, ow)'s first input value.
  std::uint32_t base(int oh, int ow) const {
    return std::uint32_t(std::size_t(oh) * s.stride_h * row + std::size_t(ow) * s.stride_w * s.in_c);
  }
};

// xp (n, g.h, g.w, in_c) = x (n, in_h, in_w, in_c) placed at (pad_top, pad_left), zeros around.
template <typename T>
void pad_images(const PaddedInput& g, const T* x, T* xp, int n) {
  const std::size_t c = std::size_t(g.s.in_c);
  const int lo = g.pad_left, hi = std::min(g.w, g.pad_left + g.s.in_w);  // columns holding the image
  for (int img = 0; img < n; ++img) {
    for (int r = 0; r < g.h; ++r, xp += g.row) {
      const int ih = r - g.pad_top;
      if (ih < 0 || ih >= g.s.in_h) {
        std::fill(xp, xp + g.row, T(0));
        continue;
      }
      std::fill(xp, xp + lo * c, T(0));
      std::memcpy(xp + lo * c, x + (std::size_t(img) * g.s.in_h + ih) * g.s.in_w * c, (hi - lo) * c * sizeof(T));
      std::fill(xp + hi * c, xp + g.row, T(0));
    }
  }
}

// dx (n, in_h, in_w, in_c) = the image part of dxp (n, g.h, g.w, in_c); pixels no output reads get 0.
template <typename T>
void unpad_images(const PaddedInput& g, const T* dxp, T* dx, int n) {
  const std::size_t c = std::size_t(g.s.in_c), in_row = std::size_t(g.s.in_w) * c;
  const std::size_t cols = std::size_t(std::max(0, std::min(g.s.in_w, g.w - g.pad_left))) * c;
  for (int img = 0; img < n; ++img) {
    for (int ih = 0; ih < g.s.in_h; ++ih, dx += in_row) {
      const int r = ih + g.pad_top;
      const std::size_t copied = r < g.h ? cols : 0;
      if (copied > 0) std::memcpy(dx, dxp + img * g.image + r * g.row + g.pad_left * c, copied * sizeof(T));
      std::fill(dx + copied, dx + in_row, T(0));
    }
  }
}

// Calls f(std::integral_constant<int, n>{}) for 1 <= n <= N: a runtime block size to a template.
template <int N, typename F>
[[gnu::always_inline]] inline void with_size(int n, F&& f) {
  [&]<int... K>(std::integer_sequence<int, K...>) {
    ((n == K + 1 ? (f(std::integral_constant<int, K + 1>{}), 0) : 0), ...);
  }(std::make_integer_sequence<int, N>{});
}

// The channel vectors of a forward block: 4 pixels x kForwardVectors accumulators, kForwardVectors
// kernel vectors and the 4 pixels' broadcasts fit the register file (14 of 16, 24 of 32).
inline constexpr int kForwardVectors = kRegisters >= 32 ? 4 : 2;

// z (4 pixels, NV vectors, rows zs apart) = the sums over the patches at base[0..3] of xi times
// w (patch, NV vectors, rows cp apart). Each sum runs over the patch in order.
template <typename T, int NV>
[[gnu::always_inline]] inline void four_pixel_sums(const PaddedInput& g, const T* xi, const std::uint32_t* base,
                                                   const T* w, std::size_t cp, T* z, std::size_t zs) {
  using S = Simd<T>;
  using V = typename S::V;
  constexpr int L = S::kLanes;
  V acc[4][NV] = {};
  for (int kh = 0; kh < g.s.kernel_h; ++kh) {
    const T* p0 = xi + base[0] + kh * g.row;
    const T* p1 = xi + base[1] + kh * g.row;
    const T* p2 = xi + base[2] + kh * g.row;
    const T* p3 = xi + base[3] + kh * g.row;
    const T* wk = w + std::size_t(kh) * g.run * cp;
    for (int j = 0; j < g.run; ++j, wk += cp) {
      V wv[NV];
      for (int v = 0; v < NV; ++v) {
        wv[v] = S::load(wk + v * L);
        S::pin(wv[v]);
      }
      const V x0 = S::splat(p0[j]), x1 = S::splat(p1[j]), x2 = S::splat(p2[j]), x3 = S::splat(p3[j]);
      for (int v = 0; v < NV; ++v) {
        acc[0][v] += x0 * wv[v];
        acc[1][v] += x1 * wv[v];
        acc[2][v] += x2 * wv[v];
        acc[3][v] += x3 * wv[v];
      }
    }
  }
  for (int r = 0; r < 4; ++r) {
    for (int v = 0; v < NV; ++v) S::store(z + r * zs + v * L, acc[r][v]);
  }
}

// z (count, cp) = the convolution sums (no bias) of one image's pixels at bases[0, count); xi is
// the image as g reads it, w (patch, cp) the kernel with its channels padded to cp, a multiple of
// the lanes. Channel blocks outside, so a block's kernel columns stay in cache while the pixels
// pass, 4 at a time (the last block repeats its last pixel and keeps what it needs).
template <typename T>
void conv_pixels(const PaddedInput& g, const T* xi, const std::uint32_t* bases, std::size_t count, const T* w,
                 std::size_t cp, T* z) {
  constexpr int L = Simd<T>::kLanes;
  const int vectors = int(cp / L), blocks = (vectors + kForwardVectors - 1) / kForwardVectors;
  const std::size_t full = count / 4 * 4;
  std::uint32_t last[4];
  for (std::size_t r = 0; r < 4 && full < count; ++r) last[r] = bases[std::min(full + r, count - 1)];
  for (int b = 0, v0 = 0; b < blocks; ++b) {
    const int nv = (vectors - v0 + (blocks - b) - 1) / (blocks - b);  // balanced block sizes
    with_size<kForwardVectors>(nv, [&](auto n) {
      constexpr int NV = decltype(n)::value;
      for (std::size_t p = 0; p < full; p += 4)
        four_pixel_sums<T, NV>(g, xi, bases + p, w + v0 * L, cp, z + p * cp + v0 * L, cp);
      if (full == count) return;
      T tail[4 * NV * L];
      four_pixel_sums<T, NV>(g, xi, last, w + v0 * L, cp, tail, NV * L);
      for (std::size_t r = 0; full + r < count; ++r)
        std::copy(tail + r * NV * L, tail + (r + 1) * NV * L, z + (full + r) * cp + v0 * L);
    });
    v0 += nv;
  }
}

// The kernel (patch, out_c) with its channels padded to cp (a multiple of the lanes) by zeros:
// kernel itself when out_c == cp, else a copy in `packed`.
template <typename T>
const T* padded_kernel(const T* kernel, std::size_t patch, int out_c, std::size_t cp, std::vector<T>& packed) {
  if (cp == std::size_t(out_c)) return kernel;
  for (std::size_t k = 0; k < patch; ++k) {
    std::copy(kernel + k * out_c, kernel + (k + 1) * out_c, packed.data() + k * cp);
    std::fill(packed.data() + k * cp + out_c, packed.data() + (k + 1) * cp, T(0));
  }
  return packed.data();
}

// out_c rounded up to the lanes of T.
template <typename T>
std::size_t padded_channels(int out_c) {
  constexpr int L = Simd<T>::kLanes;
  return std::size_t((out_c + L - 1) / L * L);
}

// The accumulators of a sparse block (a broadcast and some scratch beside them).
inline constexpr int kSparseVectors = kRegisters - 4;

// out (NB vectors) += sum over e < count of g[e] * src(e) (NB vectors), in order of e.
template <typename T, int NB, typename Src>
[[gnu::always_inline]] inline void weighted_vectors(int count, const T* g, Src&& src, T* out) {
  using S = Simd<T>;
  using V = typename S::V;
  constexpr int L = S::kLanes;
  V acc[NB] = {};
  for (int e = 0; e < count; ++e) {
    const V gv = S::splat(g[e]);
    const T* p = src(e);
    for (int v = 0; v < NB; ++v) acc[v] += gv * S::load(p + v * L);
  }
  for (int v = 0; v < NB; ++v) S::store(out + v * L, S::load(out + v * L) + acc[v]);
}

// out (kernel_h runs of g.run values, out_row apart) += sum over e < count of g[e] * the
// kernel_h runs at src(e) (src_row apart): the sparse dW (entries of x patches) and dX (rows of the
// transposed kernel) of a convolution. Vector blocks of a run, then its scalar tail.
template <typename T, typename Src>
void weighted_patches(const PaddedInput& g, std::size_t src_row, std::size_t out_row, int count, const T* gs,
                      Src&& src, T* out) {
  constexpr int L = Simd<T>::kLanes;
  const int vectors = g.run / L, blocks = (vectors + kSparseVectors - 1) / kSparseVectors;
  for (int kh = 0; kh < g.s.kernel_h; ++kh) {
    const std::size_t at = kh * src_row;
    T* o = out + kh * out_row;
    for (int b = 0, v0 = 0; b < blocks; ++b) {
      const int nv = (vectors - v0 + (blocks - b) - 1) / (blocks - b);
      with_size<kSparseVectors>(nv, [&](auto n) {
        weighted_vectors<T, decltype(n)::value>(count, gs, [&](int e) { return src(e) + at + v0 * L; }, o + v0 * L);
      });
      v0 += nv;
    }
    for (int j = vectors * L; j < g.run; ++j) {
      T sum = 0;
      for (int e = 0; e < count; ++e) sum += gs[e] * src(e)[at + j];
      o[j] += sum;
    }
  }
}

// wt (out_c, patch) = kernel (patch, out_c) transposed.
template <typename T>
void transpose_kernel(const T* kernel, std::size_t patch, int out_c, T* wt) {
  for (std::size_t k = 0; k < patch; ++k) {
    for (int c = 0; c < out_c; ++c) wt[c * patch + k] = kernel[k * out_c + c];
  }
}

// dkernel (patch, out_c) += dwt (out_c, patch) transposed.
template <typename T>
void add_transposed(const T* dwt, std::size_t patch, int out_c, T* dkernel) {
  for (std::size_t k = 0; k < patch; ++k) {
    for (int c = 0; c < out_c; ++c) dkernel[k * out_c + c] += dwt[c * patch + k];
  }
}

}  // namespace fmnist::detail
