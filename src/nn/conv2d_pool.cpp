// Conv2D 3x3 (bias, ReLU) fused with MaxPooling2D 2x2, NHWC; pixels no window reads are never
// computed. Three paths: conv2d_1 (in 32, out 64) accumulates each window's four pixels in
// registers straight from x, and its backward uses that only a window's argmax pixel gets a
// gradient (a quarter of the dense GEMM work, no im2col); the first layer (in 1, out 32, no input
// gradient) is a direct kernel; any other shape is im2col (window-major rows) + Eigen GEMM.
#include "eigen_views.hpp"  // first: it includes the intrinsics headers
#include "simd.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "fmnist/layers.hpp"
#include "im2col.hpp"

// Without AVX-512, GCC notes at every use of a 64-byte vector that its ABI changed in GCC 4.x;
// all of them stay inside this file (simd.hpp's helpers are always inlined).
#pragma GCC diagnostic ignored "-Wpsabi"

namespace fmnist {
namespace {

using detail::chunk_images;
using detail::conv_gemm_backward;
using detail::conv_gemm_forward;

constexpr int kDirectOut = 32;    // the direct kernel's output channels (the first layer)
constexpr int kSparseIn = 32;     // the sparse path's channels (conv2d_1)
constexpr int kSparseOut = 64;
constexpr int kSparseChunk = 4;   // images per backward chunk: their x (86 KB) stays near L1

bool use_direct(const ConvShape& s, bool need_dx) { return s.in_c == 1 && s.out_c == kDirectOut && !need_dx; }
bool use_sparse(const ConvShape& s) { return s.in_c == kSparseIn && s.out_c == kSparseOut; }

// Conv output pixels per image that pooling reads: (pool_h * pool_w) windows of 4.
int window_rows(const ConvShape& s) { return (s.out_h() / 2) * (s.out_w() / 2) * 4; }


// Pools windows of z (windows * 4, c_n), adding the bias first: y (windows, c_n) =
// relu(max over the window of z + bias), arg = the window position of that max (first on ties).
template <typename T, typename Index>
void pool_rows(const T* __restrict z, const T* __restrict bias, T* __restrict y,
               Index* __restrict arg, std::size_t windows, int c_n) {
  for (std::size_t q = 0; q < windows; ++q, z += 4 * c_n, y += c_n, arg += c_n) {
    for (int c = 0; c < c_n; ++c) {
      T best = z[c] + bias[c];
      Index at = 0;
      const T v1 = z[c_n + c] + bias[c], v2 = z[2 * c_n + c] + bias[c], v3 = z[3 * c_n + c] + bias[c];
      if (v1 > best) best = v1, at = 1;
      if (v2 > best) best = v2, at = 2;
      if (v3 > best) best = v3, at = 3;
      y[c] = std::max(best, T(0));
      arg[c] = at;
    }
  }
}

// dz (windows * 4, c_n): dy routed through the ReLU to each window's argmax row, zero elsewhere;
// dbias += the routed gradients.
template <typename T, typename Index>
void unpool_rows(const T* __restrict y, const T* __restrict dy, const Index* __restrict arg,
                 T* __restrict dz, T* __restrict dbias, std::size_t windows, int c_n) {
  for (std::size_t q = 0; q < windows; ++q, y += c_n, dy += c_n, arg += c_n, dz += 4 * c_n) {
    for (int c = 0; c < c_n; ++c) {
      const T g = y[c] > T(0) ? dy[c] : T(0);
      dbias[c] += g;
      dz[c] = arg[c] == 0 ? g : T(0);
      dz[c_n + c] = arg[c] == 1 ? g : T(0);
      dz[2 * c_n + c] = arg[c] == 2 ? g : T(0);
      dz[3 * c_n + c] = arg[c] == 3 ? g : T(0);
    }
  }
}

// z (4, 64) = the four pixels of the window at p (pixel (0,0); rows row values apart) convolved
// with kernel (288, 64), without bias: 16 vector accumulators over the 288 taps read from x.
template <typename T>
void window_sums(const T* p, std::size_t row, const T* kernel, T* z) {
  using S = detail::Simd<T>;
  using V = typename S::V;
  constexpr int kV = kSparseOut / S::kLanes;  // vectors per output pixel
  constexpr int kRun = 3 * kSparseIn;         // contiguous inputs per kernel row
  V acc[4][kV] = {};
  const T* w = kernel;  // (288, 64), row by row
  for (int kh = 0; kh < 3; ++kh) {
    const T* r0 = p + kh * row;  // pixels 0, 1 read r0, r0 + 32; pixels 2, 3 one row down
    const T* r1 = r0 + row;
    for (int j = 0; j < kRun; ++j, w += kSparseOut) {
      V wv[kV];
      for (int v = 0; v < kV; ++v) wv[v] = S::load(w + v * S::kLanes);
      const V x0 = S::splat(r0[j]), x1 = S::splat(r0[kSparseIn + j]);
      const V x2 = S::splat(r1[j]), x3 = S::splat(r1[kSparseIn + j]);
      for (int v = 0; v < kV; ++v) {
        acc[0][v] += x0 * wv[v];
        acc[1][v] += x1 * wv[v];
        acc[2][v] += x2 * wv[v];
        acc[3][v] += x3 * wv[v];
      }
    }
  }
  for (int a = 0; a < 4; ++a) {
    for (int v = 0; v < kV; ++v) S::store(z + a * kSparseOut + v * S::kLanes, acc[a][v]);
  }
}

#ifdef __AVX512F__
// The same for float in AVX-512 intrinsics: GCC allocates the 16 accumulators, 4 kernel vectors
// and 4 broadcasts to registers here (the generic version spills some on Zen 4 builds).
inline void window_sums(const float* p, std::size_t row, const float* kernel, float* z) {
  __m512 a00 = _mm512_setzero_ps(), a01 = a00, a02 = a00, a03 = a00;
  __m512 a10 = a00, a11 = a00, a12 = a00, a13 = a00;
  __m512 a20 = a00, a21 = a00, a22 = a00, a23 = a00;
  __m512 a30 = a00, a31 = a00, a32 = a00, a33 = a00;
  const float* w = kernel;
  for (int kh = 0; kh < 3; ++kh) {
    const float* r0 = p + kh * row;
    const float* r1 = r0 + row;
    for (int j = 0; j < 3 * kSparseIn; ++j, w += kSparseOut) {
      __m512 w0 = _mm512_loadu_ps(w), w1 = _mm512_loadu_ps(w + 16);
      __m512 w2 = _mm512_loadu_ps(w + 32), w3 = _mm512_loadu_ps(w + 48);
      asm("" : "+v"(w0), "+v"(w1), "+v"(w2), "+v"(w3));  // one load each, not one per FMA
      const __m512 x0 = _mm512_set1_ps(r0[j]), x1 = _mm512_set1_ps(r0[kSparseIn + j]);
      const __m512 x2 = _mm512_set1_ps(r1[j]), x3 = _mm512_set1_ps(r1[kSparseIn + j]);
      a00 = _mm512_fmadd_ps(x0, w0, a00), a01 = _mm512_fmadd_ps(x0, w1, a01);
      a02 = _mm512_fmadd_ps(x0, w2, a02), a03 = _mm512_fmadd_ps(x0, w3, a03);
      a10 = _mm512_fmadd_ps(x1, w0, a10), a11 = _mm512_fmadd_ps(x1, w1, a11);
      a12 = _mm512_fmadd_ps(x1, w2, a12), a13 = _mm512_fmadd_ps(x1, w3, a13);
      a20 = _mm512_fmadd_ps(x2, w0, a20), a21 = _mm512_fmadd_ps(x2, w1, a21);
      a22 = _mm512_fmadd_ps(x2, w2, a22), a23 = _mm512_fmadd_ps(x2, w3, a23);
      a30 = _mm512_fmadd_ps(x3, w0, a30), a31 = _mm512_fmadd_ps(x3, w1, a31);
      a32 = _mm512_fmadd_ps(x3, w2, a32), a33 = _mm512_fmadd_ps(x3, w3, a33);
    }
  }
  const __m512 out[16] = {a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33};
  for (int i = 0; i < 16; ++i) _mm512_storeu_ps(z + 16 * i, out[i]);
}
#endif

// conv2d_1 forward, x (n, H, W, 32) -> pooled y (n, (H-2)/2, (W-2)/2, 64): per window, the four
// pixels' sums (window_sums, straight from x: no im2col), then pool_rows adds the bias, takes
// the max with its argmax and applies the ReLU.
template <typename T, typename Index>
void sparse_forward(const ConvShape& s, const T* x, const T* kernel, const T* bias, T* y,
                    Index* arg, int n) {
  const std::size_t row = std::size_t(s.in_w) * kSparseIn;
  const int ph_n = s.out_h() / 2, pw_n = s.out_w() / 2;
  T z[4 * kSparseOut];  // (4, 64): the window's pre-activations without bias
  for (int img = 0; img < n; ++img) {
    const T* xi = x + img * s.in_size();
    for (int ph = 0; ph < ph_n; ++ph) {
      for (int pw = 0; pw < pw_n; ++pw, y += kSparseOut, arg += kSparseOut) {
        const T* p = xi + 2 * ph * row + std::size_t(2 * pw) * kSparseIn;  // pixel (2ph, 2pw)
        window_sums(p, row, kernel, z);
        pool_rows(z, bias, y, arg, 1, kSparseOut);
      }
    }
  }
}

// conv2d_1 backward for one chunk of nc images. Only the argmax pixel of each (window, channel)
// has a gradient g (nonzero where the ReLU passed), so
//   dW[:, c] += sum over windows of g * (that pixel's 288-input patch)   (per channel, in registers)
//   dx(pixel) += sum over the window's channels whose argmax it is of g * W[:, c]^T.
// wt (64, 288) is the kernel transposed; dwt (64, 288) accumulates dW transposed; dx may be null.
template <typename T, typename Index>
void sparse_backward_chunk(const ConvShape& s, const T* x, const T* y, const T* dy,
                           const Index* arg, int nc, const T* wt, T* dwt, T* dbias, T* dx,
                           std::uint32_t* entry_offset, T* entry_g, std::size_t entry_stride) {
  using S = detail::Simd<T>;
  using V = typename S::V;
  constexpr int kRunV = 3 * kSparseIn / S::kLanes;  // vectors per kernel row of a patch
  constexpr int kPatchV = 3 * kRunV;                // vectors per patch (288 values)
  constexpr int kK = 9 * kSparseIn;
  const std::size_t row = std::size_t(s.in_w) * kSparseIn;
  const int ph_n = s.out_h() / 2, pw_n = s.out_w() / 2;
  int count[kSparseOut] = {};
  T bias_sum[kSparseOut] = {};
  if (dx != nullptr) std::fill(dx, dx + nc * s.in_size(), T(0));
  for (int img = 0; img < nc; ++img) {
    for (int ph = 0; ph < ph_n; ++ph) {
      for (int pw = 0; pw < pw_n; ++pw, y += kSparseOut, dy += kSparseOut, arg += kSparseOut) {
        const std::size_t base = img * s.in_size() + 2 * ph * row + std::size_t(2 * pw) * kSparseIn;
        T g[kSparseOut];
        int list[4][kSparseOut];
        int len[4] = {};
        for (int c = 0; c < kSparseOut; ++c) {
          g[c] = y[c] > T(0) ? dy[c] : T(0);
          bias_sum[c] += g[c];
          const int a = int(arg[c]);
          const int live = g[c] != T(0);
          entry_offset[c * entry_stride + count[c]] =
              std::uint32_t(base + (a >> 1) * row + std::size_t(a & 1) * kSparseIn);
          entry_g[c * entry_stride + count[c]] = g[c];
          count[c] += live;
          list[a][len[a]] = c;
          len[a] += live;
        }
        if (dx == nullptr) continue;
        for (int a = 0; a < 4; ++a) {
          if (len[a] == 0) continue;
          V acc[kPatchV];
#pragma GCC unroll 36
          for (int k = 0; k < kPatchV; ++k) acc[k] = V{};
          for (int i = 0; i < len[a]; ++i) {
            const int c = list[a][i];
            const V gv = S::splat(g[c]);
            const T* wr = wt + c * kK;
#pragma GCC unroll 36
            for (int k = 0; k < kPatchV; ++k) acc[k] += gv * S::load(wr + k * S::kLanes);
          }
          T* d = dx + base + (a >> 1) * row + std::size_t(a & 1) * kSparseIn;
#pragma GCC unroll 36
          for (int k = 0; k < kPatchV; ++k) {  // vector k: kernel row k / kRunV, lanes k % kRunV
            T* at = d + (k / kRunV) * row + (k % kRunV) * S::kLanes;
            S::store(at, S::load(at) + acc[k]);
          }
        }
      }
    }
  }
  for (int c = 0; c < kSparseOut; ++c) {
    V acc[kPatchV];
#pragma GCC unroll 36
    for (int k = 0; k < kPatchV; ++k) acc[k] = V{};
    const std::uint32_t* off = entry_offset + c * entry_stride;
    const T* gs = entry_g + c * entry_stride;
    for (int e = 0; e < count[c]; ++e) {
      const V gv = S::splat(gs[e]);
      const T* p = x + off[e];
#pragma GCC unroll 36
      for (int k = 0; k < kPatchV; ++k) acc[k] += gv * S::load(p + (k / kRunV) * row + (k % kRunV) * S::kLanes);
    }
    T* dw = dwt + c * kK;
#pragma GCC unroll 36
    for (int k = 0; k < kPatchV; ++k) S::store(dw + k * S::kLanes, S::load(dw + k * S::kLanes) + acc[k]);
    dbias[c] += bias_sum[c];
  }
}

// The first layer, x (n, H, W, 1) -> pooled y (n, (H-2)/2, (W-2)/2, 32): per window, the four
// pixels' 32 sums over the nine taps (the kernel stays in registers), then pool_rows.
template <typename T, typename Index>
void direct_forward(const ConvShape& s, const T* x, const T* kernel, const T* bias, T* y,
                    Index* arg, int n) {
  using S = detail::Simd<T>;
  using V = typename S::V;
  constexpr int kV = kDirectOut / S::kLanes;  // vectors per output pixel
  V w[9][kV];
  for (int k = 0; k < 9; ++k) {
    for (int v = 0; v < kV; ++v) w[k][v] = S::load(kernel + k * kDirectOut + v * S::kLanes);
  }
  const int ph_n = s.out_h() / 2, pw_n = s.out_w() / 2;
  T z[4 * kDirectOut];  // (4, 32): the window's pre-activations without bias
  for (int img = 0; img < n; ++img) {
    const T* xi = x + img * s.in_size();
    for (int ph = 0; ph < ph_n; ++ph) {
      for (int pw = 0; pw < pw_n; ++pw, y += kDirectOut, arg += kDirectOut) {
        const T* patch = xi + 2 * ph * s.in_w + 2 * pw;  // the window's 4x4 input patch
#pragma GCC unroll 4
        for (int a = 0; a < 4; ++a) {
          const T* p = patch + (a >> 1) * s.in_w + (a & 1);
          V acc[kV] = {};
#pragma GCC unroll 9
          for (int k = 0; k < 9; ++k) {
            const V xv = S::splat(p[(k / 3) * s.in_w + k % 3]);
            for (int v = 0; v < kV; ++v) acc[v] += xv * w[k][v];
          }
          for (int v = 0; v < kV; ++v) S::store(z + a * kDirectOut + v * S::kLanes, acc[v]);
        }
        pool_rows(z, bias, y, arg, 1, kDirectOut);
      }
    }
  }
}

// The first layer's parameter gradients from the pooled gradient: per window, the routed
// gradient times each of the four pixels' patches; sums per image, then into dkernel / dbias.
template <typename T, typename Index>
void direct_backward(const ConvShape& s, const T* x, const T* y, const T* dy, const Index* arg,
                     T* dkernel, T* dbias, int n) {
  constexpr int kOut = kDirectOut;
  const int ph_n = s.out_h() / 2, pw_n = s.out_w() / 2;
  for (int img = 0; img < n; ++img) {
    const T* xi = x + img * s.in_size();
    T acc[9][kOut] = {};
    T acc_bias[kOut] = {};
    for (int ph = 0; ph < ph_n; ++ph) {
      for (int pw = 0; pw < pw_n; ++pw, y += kOut, dy += kOut, arg += kOut) {
        const T* patch = xi + 2 * ph * s.in_w + 2 * pw;
        T g[kOut];
        for (int c = 0; c < kOut; ++c) {
          g[c] = y[c] > T(0) ? dy[c] : T(0);
          acc_bias[c] += g[c];
        }
        for (int a = 0; a < 4; ++a) {
          const T* p = patch + (a >> 1) * s.in_w + (a & 1);
          T ga[kOut];
          for (int c = 0; c < kOut; ++c) ga[c] = arg[c] == Index(a) ? g[c] : T(0);
          for (int kh = 0; kh < 3; ++kh) {
            for (int kw = 0; kw < 3; ++kw) {
              const T v = p[kh * s.in_w + kw];
              for (int c = 0; c < kOut; ++c) acc[kh * 3 + kw][c] += v * ga[c];
            }
          }
        }
      }
    }
    for (int k = 0; k < 9; ++k) {
      for (int c = 0; c < kOut; ++c) dkernel[k * kOut + c] += acc[k][c];
    }
    for (int c = 0; c < kOut; ++c) dbias[c] += acc_bias[c];
  }
}

}  // namespace

template <typename T>
Conv2DPool<T>::Conv2DPool(ConvShape shape, int max_batch, bool need_dx, const T* kernel,
                          const T* bias, T* dkernel, T* dbias)
    : shape_(shape),
      max_batch_(max_batch),
      need_dx_(need_dx),
      kernel_(kernel),
      bias_(bias),
      dkernel_(dkernel),
      dbias_(dbias) {
  if (shape.in_h < 4 || shape.in_w < 4 || shape.in_c < 1 || shape.out_c < 1 || max_batch < 1 ||
      shape.kernel_h != 3 || shape.kernel_w != 3 || shape.stride_h != 1 || shape.stride_w != 1 ||
      shape.padding != Padding::valid) {
    throw std::invalid_argument("Conv2DPool: bad shape or max_batch");
  }
  argmax_.resize(std::size_t(max_batch) * pool_h() * pool_w() * shape.out_c);
  if (use_direct(shape, need_dx)) return;
  if (use_sparse(shape)) {
    wt_.resize(shape.kernel_size());
    dwt_.resize(shape.kernel_size());
    const std::size_t windows = std::size_t(std::min(max_batch, kSparseChunk)) * pool_h() * pool_w();
    entry_offset_.resize(windows * shape.out_c);
    entry_g_.resize(windows * shape.out_c);
    if (std::size_t(max_batch) * shape.in_size() > UINT32_MAX) {
      throw std::invalid_argument("Conv2DPool: max_batch too large for 32-bit offsets");
    }
    return;
  }
  const std::size_t rows = std::size_t(std::min(max_batch, chunk_images(window_rows(shape)))) * window_rows(shape);
  const std::size_t k = std::size_t(9) * shape.in_c;
  pixels_ = detail::pixels_by_window(shape);
  col_.resize(rows * k);
  z_.resize(rows * shape.out_c);
  if (need_dx) dcol_.resize(rows * k);
}

template <typename T>
void Conv2DPool<T>::forward(const T* x, T* y, int n, const DropoutContext*) {
  if (n < 0 || n > max_batch_) throw std::invalid_argument("Conv2DPool::forward: n > max_batch");
  const ConvShape& s = shape_;
  if (use_direct(s, need_dx_)) {
    direct_forward(s, x, kernel_, bias_, y, argmax_.data(), n);
    return;
  }
  if (use_sparse(s)) {
    sparse_forward(s, x, kernel_, bias_, y, argmax_.data(), n);
    return;
  }
  const std::size_t windows = pixels_.size() / 4;
  const int chunk = chunk_images(pixels_.size());
  for (int i0 = 0; i0 < n; i0 += chunk) {
    const int nc = std::min(chunk, n - i0);
    conv_gemm_forward(s, pixels_, x + i0 * s.in_size(), kernel_, col_.data(), z_.data(), nc);
    const std::size_t at = i0 * windows * s.out_c;
    pool_rows(z_.data(), bias_, y + at, argmax_.data() + at, nc * windows, s.out_c);
  }
}

template <typename T>
void Conv2DPool<T>::backward(const T* x, const T* y, T* dy, T* dx, int n) {
  if (n < 0 || n > max_batch_) throw std::invalid_argument("Conv2DPool::backward: n > max_batch");
  if (dx != nullptr && !need_dx_) throw std::invalid_argument("Conv2DPool::backward: built without need_dx");
  if (n == 0) return;
  const ConvShape& s = shape_;
  if (use_direct(s, need_dx_)) {
    direct_backward(s, x, y, dy, argmax_.data(), dkernel_, dbias_, n);
    return;
  }
  if (use_sparse(s)) {
    const int k = 9 * s.in_c;
    for (int r = 0; r < k; ++r) {  // wt (64, 288) = kernel (288, 64) transposed
      for (int c = 0; c < s.out_c; ++c) wt_[std::size_t(c) * k + r] = kernel_[std::size_t(r) * s.out_c + c];
    }
    std::fill(dwt_.begin(), dwt_.end(), T(0));
    const std::size_t windows = std::size_t(pool_h()) * pool_w();
    const std::size_t stride = entry_g_.size() / s.out_c;
    for (int i0 = 0; i0 < n; i0 += kSparseChunk) {
      const int nc = std::min(kSparseChunk, n - i0);
      const std::size_t at = i0 * windows * s.out_c;
      sparse_backward_chunk(s, x + i0 * s.in_size(), y + at, dy + at, argmax_.data() + at, nc,
                            wt_.data(), dwt_.data(), dbias_, dx != nullptr ? dx + i0 * s.in_size() : nullptr,
                            entry_offset_.data(), entry_g_.data(), stride);
    }
    for (int r = 0; r < k; ++r) {
      for (int c = 0; c < s.out_c; ++c) dkernel_[std::size_t(r) * s.out_c + c] += dwt_[std::size_t(c) * k + r];
    }
    return;
  }
  const std::size_t windows = pixels_.size() / 4;
  const int chunk = chunk_images(pixels_.size());
  for (int i0 = 0; i0 < n; i0 += chunk) {
    const int nc = std::min(chunk, n - i0);
    const std::size_t at = i0 * windows * s.out_c;
    unpool_rows(y + at, dy + at, argmax_.data() + at, z_.data(), dbias_, nc * windows, s.out_c);
    conv_gemm_backward(s, pixels_, x + i0 * s.in_size(), kernel_, z_.data(), col_.data(), dcol_.data(), dkernel_,
                       dx != nullptr ? dx + i0 * s.in_size() : nullptr, nc);
  }
}

template class Conv2DPool<float>;
template class Conv2DPool<double>;

}  // namespace fmnist
