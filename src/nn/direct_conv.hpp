// Private to src/nn: convolution straight from the input, NHWC, any kernel, stride, padding and
// dilation. With "same" padding the input is first copied into a zero-padded buffer, so every output
// pixel reads its patch as runs of contiguous values at fixed offsets from its base (kernel_h runs of
// kernel_w * in_c; kernel_h * kernel_w runs of in_c when the taps of a row are dilated apart), and
// no inner loop checks bounds. Forward: register blocks of 4-8 pixels x a few vectors of channels.
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
        row_runs(shape.dilation_w == 1 ? 1 : shape.kernel_w),
        run(shape.dilation_w == 1 ? shape.kernel_w * shape.in_c : shape.in_c),
        runs(shape.kernel_h * row_runs) {
    const int reach_h = (s.out_h() - 1) * s.stride_h + s.span_h(), reach_w = (s.out_w() - 1) * s.stride_w + s.span_w();
    copy = pad_top > 0 || pad_left > 0 || reach_h > s.in_h || reach_w > s.in_w;
    h = copy ? reach_h : s.in_h;
    w = copy ? reach_w : s.in_w;
    row = std::size_t(w) * s.in_c;
    image = std::size_t(h) * row;
    row_step = std::size_t(s.dilation_h) * row;
  }

  ConvShape s;
  int pad_top, pad_left;
  int row_runs;            // runs per kernel row: 1, or kernel_w when its taps are dilated apart
  int run;                 // the contiguous values of one run: kernel_w * in_c, or in_c (dilated)
  int runs;                // runs per patch: kernel_h * row_runs, in the kernel's (kh, kw, in_c) order
  bool copy;               // "same" padding that reaches outside the image: read a padded copy
  int h, w;                // rows and columns of an image as read
  std::size_t row, image;  // values per row and per image as read
  std::size_t row_step;    // between the first values of two kernel rows: dilation_h rows

  // The offset in its image of output pixel (oh, ow)'s first input value.
  std::uint32_t base(int oh, int ow) const {
    return std::uint32_t(std::size_t(oh) * s.stride_h * row + std::size_t(ow) * s.stride_w * s.in_c);
  }
  // The offset of a patch's run k from the patch's first value.
  std::size_t run_offset(int k) const {
    if (row_runs == 1) return std::size_t(k) * row_step;
    return std::size_t(k / row_runs) * row_step + std::size_t(k % row_runs) * s.dilation_w * s.in_c;
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

// A forward block: kForwardPixels pixels x kForwardVectors vectors of channels. Its
// accumulators, kernel vectors and the pixels' broadcasts fit the register file: 4 x 2 + 2 + 4
// of 16 (AVX2; measured on Zen 3 against 3 x 3 and 2 x 4), 4 x 4 + 4 + 4 of 32 (AVX-512).
inline constexpr int kForwardPixels = 4;
inline constexpr int kForwardVectors = kRegisters >= 32 ? 4 : 2;
// Pixels of a block of NV < kForwardVectors vectors: more, so that the accumulators still fill
// the registers (32 output channels with AVX-512, 2 vectors: 8 x 2 instead of 4 x 2, whose FMAs
// would wait on one another), at most 8 (the pixels' pointers stay in general registers). Each
// pixel's sums are its own, so the block's size never changes a result.
template <int NV>
inline constexpr int kPixelsFor = std::clamp(kForwardPixels * kForwardVectors / NV, kForwardPixels, 8);

// z (R pixels, NV vectors, rows zs apart) (+)= the sums over runs [k0, k1) of the patches at
// base[0, R) of xi times w (those runs' taps, NV vectors each, contiguous); k0 == 0 starts from 0,
// else z's sums continue. Each sum runs over the patch in order, run after run.
template <typename T, int NV, int R = kForwardPixels>
[[gnu::always_inline]] inline void pixel_block_rows(const PaddedInput& g, const T* xi, const std::uint32_t* base,
                                                    int k0, int k1, const T* w, T* z, std::size_t zs) {
  using S = Simd<T>;
  using V = typename S::V;
  constexpr int L = S::kLanes;
  V acc[R][NV];
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < NV; ++v) acc[r][v] = k0 == 0 ? V{} : S::load(z + r * zs + v * L);
  }
  for (int k = k0; k < k1; ++k) {
    const T* p[R];
    const std::size_t at = g.run_offset(k);
    for (int r = 0; r < R; ++r) p[r] = xi + base[r] + at;
    for (int j = 0; j < g.run; ++j, w += NV * L) {
      V wv[NV];
      for (int v = 0; v < NV; ++v) {
        wv[v] = S::load(w + v * L);
        S::pin(wv[v]);
      }
      for (int r = 0; r < R; ++r) {
        const V xr = S::splat(p[r][j]);
        for (int v = 0; v < NV; ++v) acc[r][v] += xr * wv[v];
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < NV; ++v) S::store(z + r * zs + v * L, acc[r][v]);
  }
}

// Channel blocks of the forward kernel: kForwardVectors vectors each, the last ones one less
// where the vectors do not divide evenly. Calls f(first vector, vectors) block by block.
template <typename T, typename F>
void for_each_channel_block(std::size_t cp, F&& f) {
  const int vectors = int(cp / Simd<T>::kLanes), blocks = (vectors + kForwardVectors - 1) / kForwardVectors;
  for (int b = 0, v0 = 0; b < blocks; ++b) {
    const int nv = (vectors - v0 + (blocks - b) - 1) / (blocks - b);
    f(v0, nv);
    v0 += nv;
  }
}

// packed (patch, cp) = the kernel (patch, out_c) as the forward kernel reads it: channel block by
// channel block, each (patch, its vectors) contiguous; channels beyond out_c (up to cp) zero.
template <typename T>
void pack_kernel(const T* kernel, std::size_t patch, int out_c, std::size_t cp, T* packed) {
  constexpr int L = Simd<T>::kLanes;
  for_each_channel_block<T>(cp, [&](int v0, int nv) {
    const int c0 = v0 * L, width = nv * L;
    for (std::size_t k = 0; k < patch; ++k, packed += width) {
      for (int c = 0; c < width; ++c) packed[c] = c0 + c < out_c ? kernel[k * out_c + c0 + c] : T(0);
    }
  });
}

// z (count, cp) = the convolution sums (no bias) of one image's pixels at bases[0, count); xi is
// the image as g reads it, packed the kernel as pack_kernel lays it out. Channel block, then
// groups of runs whose taps fit in 24 KB (L1), then blocks of pixels, so those taps stay in
// L1 while every pixel passes (the last block repeats the last pixel where it needs to).
template <typename T>
void conv_pixels(const PaddedInput& g, const T* xi, const std::uint32_t* bases, std::size_t count, const T* packed,
                 std::size_t cp, T* z) {
  constexpr int L = Simd<T>::kLanes;
  const T* w = packed;
  for_each_channel_block<T>(cp, [&](int v0, int nv) {
    with_size<kForwardVectors>(nv, [&](auto n) {
      constexpr int NV = decltype(n)::value, R = kPixelsFor<NV>;
      const std::size_t full = count / R * R;
      std::uint32_t last[R] = {};  // (read only when full < count; zeros keep GCC from warning)
      for (std::size_t r = 0; r < R && full < count; ++r) last[r] = bases[std::min(full + r, count - 1)];
      const std::size_t run_taps = std::size_t(g.run) * NV * L;  // one run's taps of the block
      const int group = int(std::max<std::size_t>(1, (24 << 10) / (run_taps * sizeof(T))));
      T tail[R * NV * L];
      for (int k0 = 0; k0 < g.runs; k0 += group) {
        const int k1 = std::min(g.runs, k0 + group);
        for (std::size_t p = 0; p < full; p += R)
          pixel_block_rows<T, NV, R>(g, xi, bases + p, k0, k1, w, z + p * cp + v0 * L, cp);
        if (full < count) pixel_block_rows<T, NV, R>(g, xi, last, k0, k1, w, tail, NV * L);
        w += (k1 - k0) * run_taps;
      }
      for (std::size_t r = 0; full + r < count; ++r)
        std::copy(tail + r * NV * L, tail + (r + 1) * NV * L, z + (full + r) * cp + v0 * L);
    });
  });
}

// The accumulators of a dW block (the rest: the gradient's vectors and a broadcast).
inline constexpr int kWeightAccumulators = kRegisters * 3 / 4;

// dk (J rows out_c apart, NV vectors) += sum over the pixels p < count, in order, of the J values
// at xi + bases[p] + at (contiguous: one run's) times dz's row p (NV vectors, rows out_c apart).
template <typename T, int J, int NV>
[[gnu::always_inline]] inline void weight_block(const T* xi, const std::uint32_t* bases, std::size_t count,
                                                std::size_t at, const T* dz, std::size_t out_c, T* dk) {
  using S = Simd<T>;
  using V = typename S::V;
  constexpr int L = S::kLanes;
  V acc[J][NV];
  for (int j = 0; j < J; ++j) {
    for (int v = 0; v < NV; ++v) acc[j][v] = S::load(dk + j * out_c + v * L);
  }
  for (std::size_t p = 0; p < count; ++p, dz += out_c) {
    const T* xp = xi + bases[p] + at;
    V d[NV];
    for (int v = 0; v < NV; ++v) d[v] = S::load(dz + v * L);
    for (int j = 0; j < J; ++j) {
      const V xv = S::splat(xp[j]);
      for (int v = 0; v < NV; ++v) acc[j][v] += xv * d[v];
    }
  }
  for (int j = 0; j < J; ++j) {
    for (int v = 0; v < NV; ++v) S::store(dk + j * out_c + v * L, acc[j][v]);
  }
}

// dkernel (patch, out_c) += the dW of one image: each entry the sum over the pixels at bases[0,
// count), in order, of the patch's input value times dz (count, out_c) at that pixel. xi is the
// image as g reads it; out_c a multiple of the lanes. Register blocks of J entries of one run x
// a channel block (J x NV accumulators), each over every pixel; a run's tail entry by entry.
template <typename T>
void conv_direct_dkernel(const PaddedInput& g, const std::uint32_t* bases, std::size_t count, const T* xi, const T* dz,
                         T* dkernel) {
  constexpr int L = Simd<T>::kLanes;
  const std::size_t out_c = std::size_t(g.s.out_c);
  for_each_channel_block<T>(out_c, [&](int v0, int nv) {
    with_size<kForwardVectors>(nv, [&](auto n) {
      constexpr int NV = decltype(n)::value, J = kWeightAccumulators / NV;
      for (int k = 0; k < g.runs; ++k) {
        const std::size_t at = g.run_offset(k);
        T* dk = dkernel + std::size_t(k) * g.run * out_c + v0 * L;
        int j = 0;
        for (; j + J <= g.run; j += J) weight_block<T, J, NV>(xi, bases, count, at + j, dz + v0 * L, out_c, dk + j * out_c);
        for (; j < g.run; ++j) weight_block<T, 1, NV>(xi, bases, count, at + j, dz + v0 * L, out_c, dk + j * out_c);
      }
    });
  });
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
// transposed kernel) of an undilated convolution (Conv2DPool's). Vector blocks of a run, then its scalar tail.
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
