// Conv2D's Winograd path F(4x4, 3x3) (winograd.hpp): the six one-dimensional transforms of
// Lavin and Gray's matrices (B^T, G, A^T and their transposes for the gradient), each applied to
// channel vectors (NHWC keeps a pixel's channels contiguous, so every line vectorizes), the 2-D
// transforms as two passes of them, and the 36 GEMMs as Eigen products over row-major views
// (the kernel's side packed once per weight update: packed_gemm.hpp).
#include "eigen_views.hpp"  // first: it includes the intrinsics headers

#include "winograd.hpp"

#include "simd.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <type_traits>

namespace fmnist::detail {
namespace {

constexpr int kTile = Winograd<float>::kTile;  // output pixels per tile side
constexpr int kAlpha = kTile + 2;        // input pixels per tile side, points per Winograd axis
constexpr int kPoints = kAlpha * kAlpha;  // GEMMs
constexpr std::size_t kChunkTiles = 64;  // tiles per pass: a pass's buffers stay in the L2 cache
constexpr std::size_t kSkew = 16;        // values between two points' matrices beyond their size

// The one-dimensional transforms, F(4, 3) with the points 0, 1, -1, 2, -2 and infinity: each
// maps kIn values (or vectors of them) d to kOut values r.

struct InputT {  // r = B^T d: the input tile
  static constexpr int kIn = 6, kOut = 6;
  template <typename T, typename X>
  static void points(const X* d, X* r) {
    r[0] = T(4) * d[0] - T(5) * d[2] + d[4];
    r[1] = d[3] + d[4] - T(4) * (d[1] + d[2]);
    r[2] = d[4] - d[3] + T(4) * (d[1] - d[2]);
    r[3] = d[4] - d[2] + T(2) * (d[3] - d[1]);
    r[4] = d[4] - d[2] - T(2) * (d[3] - d[1]);
    r[5] = T(4) * d[1] - T(5) * d[3] + d[5];
  }
};

struct InputGrad {  // r = B d: the gradient of InputT
  static constexpr int kIn = 6, kOut = 6;
  template <typename T, typename X>
  static void points(const X* v, X* r) {
    r[0] = T(4) * v[0];
    r[1] = T(4) * (v[2] - v[1] + v[5]) + T(2) * (v[4] - v[3]);
    r[2] = -T(5) * v[0] - T(4) * (v[1] + v[2]) - v[3] - v[4];
    r[3] = v[1] - v[2] + T(2) * (v[3] - v[4]) - T(5) * v[5];
    r[4] = v[0] + v[1] + v[2] + v[3] + v[4];
    r[5] = v[5];
  }
};

struct KernelT {  // r = G d: the kernel
  static constexpr int kIn = 3, kOut = 6;
  template <typename T, typename X>
  static void points(const X* g, X* r) {
    r[0] = g[0] / T(4);
    r[1] = -(g[0] + g[1] + g[2]) / T(6);
    r[2] = -(g[0] - g[1] + g[2]) / T(6);
    r[3] = g[0] / T(24) + g[1] / T(12) + g[2] / T(6);
    r[4] = g[0] / T(24) - g[1] / T(12) + g[2] / T(6);
    r[5] = g[2];
  }
};

struct KernelGrad {  // r = G^T d: the gradient of KernelT
  static constexpr int kIn = 6, kOut = 3;
  template <typename T, typename X>
  static void points(const X* u, X* r) {
    r[0] = u[0] / T(4) - (u[1] + u[2]) / T(6) + (u[3] + u[4]) / T(24);
    r[1] = (u[2] - u[1]) / T(6) + (u[3] - u[4]) / T(12);
    r[2] = (u[3] + u[4] - u[1] - u[2]) / T(6) + u[5];
  }
};

struct OutputT {  // r = A^T d: the output tile
  static constexpr int kIn = 6, kOut = 4;
  template <typename T, typename X>
  static void points(const X* m, X* r) {
    r[0] = m[0] + m[1] + m[2] + m[3] + m[4];
    r[1] = m[1] - m[2] + T(2) * (m[3] - m[4]);
    r[2] = m[1] + m[2] + T(4) * (m[3] + m[4]);
    r[3] = m[1] - m[2] + T(8) * (m[3] - m[4]) + m[5];
  }
};

struct OutputGrad {  // r = A d: the gradient of OutputT
  static constexpr int kIn = 4, kOut = 6;
  template <typename T, typename X>
  static void points(const X* y, X* r) {
    r[0] = y[0];
    r[1] = y[0] + y[1] + y[2] + y[3];
    r[2] = y[0] - y[1] + y[2] - y[3];
    r[3] = y[0] + T(2) * y[1] + T(4) * y[2] + T(8) * y[3];
    r[4] = y[0] - T(2) * y[1] + T(4) * y[2] - T(8) * y[3];
    r[5] = y[3];
  }
};

// A grid of vectors, vector (a, b) at base + a * row + b * col.
template <typename T>
struct Grid {
  T* base;
  std::size_t row, col;
};

// One vector X (Simd<T>::V, or T alone) of channels at p.
template <typename T, typename X>
[[gnu::always_inline]] inline X load_as(const T* p) {
  if constexpr (std::is_same_v<X, T>) {
    return *p;
  } else {
    return Simd<T>::load(p);
  }
}
template <typename T, typename X>
[[gnu::always_inline]] inline void store_as(T* p, X v) {
  if constexpr (std::is_same_v<X, T>) {
    *p = v;
  } else {
    Simd<T>::store(p, v);
  }
}

// How a transform's result v for channels [c, c + lanes) goes to p: stored, added, or stored as
// act(v + bias[c]) (the operations of add_bias_activation; bias may be null, act relu or linear).
struct Store {
  template <typename T, typename X>
  void operator()(T* p, X v, std::size_t) const {
    store_as<T>(p, v);
  }
};
struct AddTo {
  template <typename T, typename X>
  void operator()(T* p, X v, std::size_t) const {
    store_as<T>(p, load_as<T, X>(p) + v);
  }
};
template <typename T>
struct BiasActivation {
  const T* bias;
  bool relu;
  template <typename X>
  void operator()(T* p, X v, std::size_t c) const {
    if (bias != nullptr) v += load_as<T, X>(bias + c);
    if (relu) v = v < T(0) ? X{} : v;
    store_as<T>(p, v);
  }
};

// out (kOut x kOut) = F in F^T for one vector X of channels from offset c: F along each row of
// in (kIn x kIn) into mid, then along each column of mid, each result to out by `to`.
template <typename F, typename T, typename X, typename To>
[[gnu::always_inline]] inline void transform_tile(Grid<const T> in, Grid<T> out, std::size_t c, const To& to) {
  X mid[F::kIn][F::kOut], d[F::kIn], r[F::kOut];
  for (int a = 0; a < F::kIn; ++a) {
    for (int i = 0; i < F::kIn; ++i) d[i] = load_as<T, X>(in.base + a * in.row + i * in.col + c);
    F::template points<T>(d, mid[a]);
  }
  for (int j = 0; j < F::kOut; ++j) {
    for (int a = 0; a < F::kIn; ++a) d[a] = mid[a][j];
    F::template points<T>(d, r);
    for (int b = 0; b < F::kOut; ++b) to(out.base + b * out.row + j * out.col + c, r[b], c);
  }
}

// transform_tile over len channels: whole vectors of the ISA, then the rest one value at a time.
template <typename F, typename T, typename To = Store>
void transform_2d(Grid<const T> in, Grid<T> out, int len, const To& to = {}) {
  using S = Simd<T>;
  std::size_t c = 0;
  for (; c + S::kLanes <= std::size_t(len); c += S::kLanes) transform_tile<F, T, typename S::V>(in, out, c, to);
  for (; c < std::size_t(len); ++c) transform_tile<F, T, T>(in, out, c, to);
}

// The windows of to (rows x cols pixels of `channels` values) = those of from, n images.
template <typename T>
void copy_windows(const T* from, Frame f, T* to, Frame t, int rows, int cols, int channels, int n) {
  const std::size_t run = std::size_t(cols) * channels;
  for (int img = 0; img < n; ++img)
    for (int r = 0; r < rows; ++r)
      std::memcpy(to + ((std::size_t(img) * t.h + t.top + r) * t.w + t.left) * channels,
                  from + ((std::size_t(img) * f.h + f.top + r) * f.w + f.left) * channels, run * sizeof(T));
}

// Output tile (th, tw) of an image: its first value's offset, and its rows and columns inside.
struct Window {
  std::size_t offset;
  int rows, cols;
  bool whole() const { return rows == kTile && cols == kTile; }
};
Window output_window(const ConvShape& s, int th, int tw) {
  return {(std::size_t(th) * kTile * s.out_w() + std::size_t(tw) * kTile) * s.out_c,
          std::min(kTile, s.out_h() - th * kTile), std::min(kTile, s.out_w() - tw * kTile)};
}

// The first value of tile (th, tw) of image img in images of `image` values, `row` values a row.
template <typename T>
T* tile_at(T* base, std::size_t image, std::size_t row, std::size_t channels, int img, int th, int tw) {
  return base + img * image + std::size_t(th) * kTile * row + std::size_t(tw) * kTile * channels;
}

}  // namespace

template <typename T>
bool Winograd<T>::fits(const ConvShape& s) {
  return s.kernel_h == 3 && s.kernel_w == 3 && s.stride_h == 1 && s.stride_w == 1 && s.dilation_h == 1 &&
         s.dilation_w == 1 && s.padding == Padding::same && s.in_c >= 32 && s.out_c >= 32;
}

template <typename T>
Winograd<T>::Winograd(const ConvShape& s, int max_batch, bool need_dx)
    : s_(s), tiles_h_((s.out_h() + kTile - 1) / kTile), tiles_w_((s.out_w() + kTile - 1) / kTile) {
  if (!fits(s) || max_batch < 1) throw std::invalid_argument("Winograd: a shape it does not take");
  const std::size_t per_image = std::size_t(tiles_h_) * tiles_w_;
  chunk_ = int(std::clamp<std::size_t>(kChunkTiles / per_image, 1, std::size_t(max_batch)));
  const std::size_t tiles = std::size_t(chunk_) * per_image, c = std::size_t(s.in_c), k = std::size_t(s.out_c);
  u_.resize(kPoints * c * k);
  u_of_.resize(9 * c * k);
  // Each point's kernel packed in Eigen's blocks of rows for a whole pass's products.
  const Eigen::Index ci = s.in_c, ki = s.out_c, ti = Eigen::Index(tiles);
  u_fwd_ = {ki, ci, ti, kPoints};
  if (need_dx) u_dx_ = {ci, ki, ti, kPoints};
  du_.resize(kPoints * c * k);
  // Each point's matrix a cache line further than a multiple of 4 KiB from the previous one: the
  // transforms write 36 of them at once, which would otherwise share one set of the L1 cache.
  pv_ = tiles * c + kSkew;
  pm_ = tiles * k + kSkew;
  v_.resize(kPoints * pv_);
  m_.resize(kPoints * pm_);
  xp_.assign(std::size_t(chunk_) * padded_image(), T(0));
  tile_.resize(std::size_t(kTile) * kTile * k);
  if (need_dx) dxp_.resize(xp_.size());
}

// u_ = G g G^T for every (in_c, out_c) pair: the kernel (3, 3, in_c, out_c) as 3 x 3 vectors.
// Not again for the kernel of the last call (bit for bit): backward after its forward, evaluation.
template <typename T>
void Winograd<T>::transform_kernel(const T* kernel) {
  const std::size_t ck = std::size_t(s_.in_c) * s_.out_c;
  if (u_set_ && std::memcmp(u_of_.data(), kernel, u_of_.size() * sizeof(T)) == 0) return;
  std::memcpy(u_of_.data(), kernel, u_of_.size() * sizeof(T));
  u_set_ = true;
  transform_2d<KernelT, T>({kernel, 3 * ck, ck}, {u_.data(), kAlpha * ck, ck}, int(ck));
  // Each point's u as the left operand of forward's product (u^T, out_c x in_c) and of dX's (u).
  for (int p = 0; p < kPoints; ++p) {
    u_fwd_.pack(p, u_.data() + p * ck, s_.out_c);
    u_dx_.pack(p, u_.data() + p * ck, s_.out_c);
  }
}

// v_ = B^T d B for every tile of the n images in xp_: point (i, j) of the chunk's tile t and
// channel c at v_[(i * 6 + j) * pv_ + t * in_c + c], the tiles image by image, row by row.
template <typename T>
void Winograd<T>::transform_input(int n) {
  const std::size_t c = std::size_t(s_.in_c), row = std::size_t(padded_w()) * c;
  for_each_tile(n, [&](std::size_t t, int img, int th, int tw) {
    transform_2d<InputT, T>({tile_at(xp_.data(), padded_image(), row, c, img, th, tw), row, c},
                            {v_.data() + t * c, kAlpha * pv_, pv_}, int(c));
  });
}

template <typename T>
void Winograd<T>::forward(const T* x, const T* kernel, const T* bias, bool relu, T* y, int n) {
  transform_kernel(kernel);
  const std::size_t c = std::size_t(s_.in_c), k = std::size_t(s_.out_c), yrow = std::size_t(s_.out_w()) * k;
  for (int i0 = 0; i0 < n; i0 += chunk_) {
    const int nc = std::min(chunk_, n - i0);
    const std::size_t tiles = std::size_t(nc) * tiles_h_ * tiles_w_;
    copy_windows(x + i0 * s_.in_size(), input(), xp_.data(), padded(), s_.in_h, s_.in_w, s_.in_c, nc);
    transform_input(nc);
    // m = v u point by point: Eigen's product, with u packed once (packed_gemm.hpp).
    const bool packed = u_fwd_.fits(Eigen::Index(tiles));
    for (int p = 0; p < kPoints; ++p) {
      if (packed) {
        u_fwd_.multiply(p, v_.data() + p * pv_, m_.data() + p * pm_, Eigen::Index(tiles));
      } else {
        MapRM<T>(m_.data() + p * pm_, tiles, k).noalias() =
            ConstMapRM<T>(v_.data() + p * pv_, tiles, c) * ConstMapRM<T>(u_.data() + p * c * k, c, k);
      }
    }
    // y = act(A^T m A + bias) tile by tile: a whole tile straight into y, one that overhangs the
    // image through tile_ (its pixels inside the image only).
    const BiasActivation<T> act{bias, relu};
    for_each_tile(nc, [&](std::size_t t, int img, int th, int tw) {
      const Grid<const T> mt{m_.data() + t * k, kAlpha * pm_, pm_};
      const Window w = output_window(s_, th, tw);
      T* to = y + (i0 + img) * s_.out_size() + w.offset;
      if (w.whole()) {
        transform_2d<OutputT>(mt, Grid<T>{to, yrow, k}, int(k), act);
        return;
      }
      transform_2d<OutputT>(mt, Grid<T>{tile_.data(), kTile * k, k}, int(k), act);
      for (int r = 0; r < w.rows; ++r) std::memcpy(to + r * yrow, tile_.data() + r * kTile * k, w.cols * k * sizeof(T));
    });
  }
}

template <typename T>
void Winograd<T>::backward(const T* x, const T* kernel, const T* dy, T* dx, T* dkernel, int n) {
  if (n <= 0) return;
  transform_kernel(kernel);
  const std::size_t c = std::size_t(s_.in_c), k = std::size_t(s_.out_c), ck = c * k;
  const std::size_t yrow = std::size_t(s_.out_w()) * k, prow = std::size_t(padded_w()) * c;
  std::fill(du_.begin(), du_.end(), T(0));
  for (int i0 = 0; i0 < n; i0 += chunk_) {
    const int nc = std::min(chunk_, n - i0);
    const std::size_t tiles = std::size_t(nc) * tiles_h_ * tiles_w_;
    copy_windows(x + i0 * s_.in_size(), input(), xp_.data(), padded(), s_.in_h, s_.in_w, s_.in_c, nc);
    transform_input(nc);
    // m_ = A dy A^T tile by tile: a whole tile straight from dy, one that overhangs the image
    // through tile_ (zeros past the image: those pixels have no gradient).
    for_each_tile(nc, [&](std::size_t t, int img, int th, int tw) {
      const Window w = output_window(s_, th, tw);
      const T* from = dy + (i0 + img) * s_.out_size() + w.offset;
      Grid<const T> dt{from, yrow, k};
      if (!w.whole()) {
        std::fill(tile_.begin(), tile_.end(), T(0));
        for (int r = 0; r < w.rows; ++r) std::memcpy(tile_.data() + r * kTile * k, from + r * yrow, w.cols * k * sizeof(T));
        dt = {tile_.data(), kTile * k, k};
      }
      transform_2d<OutputGrad>(dt, Grid<T>{m_.data() + t * k, kAlpha * pm_, pm_}, int(k));
    });
    // du_ += v_^T m_, then v_ = m_ u_^T (dL/dv), point by point.
    for (int p = 0; p < kPoints; ++p)
      MapRM<T>(du_.data() + p * ck, c, k).noalias() +=
          ConstMapRM<T>(v_.data() + p * pv_, tiles, c).transpose() * ConstMapRM<T>(m_.data() + p * pm_, tiles, k);
    if (dx == nullptr) continue;
    const bool packed = u_dx_.fits(Eigen::Index(tiles));
    for (int p = 0; p < kPoints; ++p) {
      if (packed) {
        u_dx_.multiply(p, m_.data() + p * pm_, v_.data() + p * pv_, Eigen::Index(tiles));
      } else {
        MapRM<T>(v_.data() + p * pv_, tiles, c).noalias() =
            ConstMapRM<T>(m_.data() + p * pm_, tiles, k) * ConstMapRM<T>(u_.data() + p * ck, c, k).transpose();
      }
    }
    // dxp_ = the sum over tiles of B dv B^T, tiles in order; its pixels inside the image go to dx.
    std::fill(dxp_.begin(), dxp_.begin() + std::ptrdiff_t(nc * padded_image()), T(0));
    for_each_tile(nc, [&](std::size_t t, int img, int th, int tw) {
      transform_2d<InputGrad>(Grid<const T>{v_.data() + t * c, kAlpha * pv_, pv_},
                              {tile_at(dxp_.data(), padded_image(), prow, c, img, th, tw), prow, c}, int(c), AddTo{});
    });
    copy_windows(dxp_.data(), padded(), dx + i0 * s_.in_size(), input(), s_.in_h, s_.in_w, s_.in_c, nc);
  }
  // dkernel += G^T du G.
  transform_2d<KernelGrad, T>({du_.data(), kAlpha * ck, ck}, {dkernel, 3 * ck, ck}, int(ck), AddTo{});
}

template class Winograd<float>;
template class Winograd<double>;

}  // namespace fmnist::detail
