// Conv2D (any kernel, stride, padding) fused with the MaxPooling2D after it (any window, stride,
// padding), NHWC. Forward computes only the convolution pixels some window reads, straight from
// the input (direct_conv.hpp), and pools each image's pixels at once, keeping every window's argmax.
// Backward sends the gradient to the argmax pixels alone: sparse dW and dX over those winners where
// the ReLU passed, or, for kernel rows narrower than a vector (the first layer), dW vectorized over
// the channels (and dX, if asked, by GEMM).
#include "im2col.hpp"  // first: it includes the intrinsics headers

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "direct_conv.hpp"
#include "fmnist/layers.hpp"

namespace fmnist {
namespace {

using detail::PaddedInput;

// Images per backward chunk: their padded input near 32K values (128 KB of floats), so the
// winners' patches are read from L2. A function of the shape alone, as every chunk size here.
int backward_chunk(const PaddedInput& padded) {
  return int(std::max<std::size_t>(1, (std::size_t(1) << 13) / padded.image));
}

// The sparse kernels work on vectors of a kernel row (kernel_w * in_c values); narrower rows take
// the GEMM path. Decided by float's lanes, so float and double take the same path.
bool use_sparse(const ConvShape& s) { return s.kernel_w * s.in_c >= detail::Simd<float>::kLanes; }

// Images per backward chunk of the narrow path: their conv outputs near 64K values (dz, for dX).
int narrow_chunk_images(std::size_t pixels, int out_c) {
  return int(std::max<std::size_t>(1, (std::size_t(1) << 16) / (pixels * out_c)));
}

// Which of n convolution rows (or columns) the `out` pooling windows of k with stride s (pad
// before the first) read: index_of (n) = the place of each among those read, -1 where none reads
// it. Returns how many are read.
int places_read(int n, int out, int k, int s, int pad, std::vector<int>& index_of) {
  index_of.assign(n, -1);
  for (int o = 0; o < out; ++o)
    for (int i = std::max(0, o * s - pad); i < std::min(n, o * s - pad + k); ++i) index_of[i] = 0;
  int next = 0;
  for (int& place : index_of) place = place < 0 ? -1 : next++;
  return next;
}

// y (windows, c_n) = act(max over each window's pixels of z + bias), arg = the position k of that
// max in its window (the first on ties); z (pixels, cp); a window's pixels are
// pixels[start[q], start[q + 1]), indexes into z's rows. Vectors of channels, then a scalar tail.
template <typename T, typename Index>
void pool_windows(const T* z, std::size_t cp, const std::vector<std::uint32_t>& start,
                  const std::vector<std::uint32_t>& pixels, const T* bias, bool relu, int c_n, T* y, Index* arg) {
  using S = detail::Simd<T>;
  using V = typename S::V;
  using M = decltype(V{} < V{});  // the comparison mask: integers of T's width, like Index
  static_assert(sizeof(Index) == sizeof(T));
  constexpr int L = S::kLanes;
  const int full = c_n / L * L;
  for (std::size_t q = 0; q + 1 < start.size(); ++q, y += c_n, arg += c_n) {
    const std::uint32_t* pix = pixels.data() + start[q];
    const int size = int(start[q + 1] - start[q]);
    for (int c = 0; c < full; c += L) {
      V best = S::load(z + pix[0] * cp + c);
      M best_k{};
      for (int k = 1; k < size; ++k) {
        const V v = S::load(z + pix[k] * cp + c);
        const M more = v > best;
        best = more ? v : best;
        best_k = more ? best_k - best_k + k : best_k;
      }
      if (bias != nullptr) best += S::load(bias + c);
      if (relu) best = best < V{} ? V{} : best;  // std::max(best, 0), lane by lane
      S::store(y + c, best);
      std::memcpy(arg + c, &best_k, sizeof best_k);
    }
    for (int c = full; c < c_n; ++c) {
      T best = z[pix[0] * cp + c];
      Index best_k = 0;
      for (int k = 1; k < size; ++k) {
        const T v = z[pix[k] * cp + c];
        if (v > best) best = v, best_k = Index(k);
      }
      if (bias != nullptr) best += bias[c];
      y[c] = relu ? std::max(best, T(0)) : best;
      arg[c] = best_k;
    }
  }
}

}  // namespace

template <typename T>
Conv2DPool<T>::Conv2DPool(ConvShape conv, ConvShape pool, Activation activation, int max_batch, bool need_dx,
                          const T* kernel, const T* bias, T* dkernel, T* dbias)
    : conv_(conv),
      pool_(pool),
      relu_(activation == Activation::relu),
      max_batch_(max_batch),
      need_dx_(need_dx),
      w_{kernel, bias, dkernel, dbias} {
  if (conv.in_c < 1 || conv.out_c < 1 || conv.out_h() < 1 || conv.out_w() < 1 || max_batch < 1 ||
      activation == Activation::softmax || (bias == nullptr) != (dbias == nullptr) || pool.in_h != conv.out_h() ||
      pool.in_w != conv.out_w() || pool.in_c != conv.out_c || pool.out_c != pool.in_c || pool.out_h() < 1 ||
      pool.out_w() < 1 || conv.dilation_h != 1 || conv.dilation_w != 1) {
    throw std::invalid_argument("Conv2DPool: bad shapes (or a dilated kernel), activation or max_batch");
  }
  const PaddedInput padded(conv);
  std::vector<int> row_index, col_index;  // (conv out_h), (conv out_w): place among those read, or -1
  const int rows = places_read(conv.out_h(), pool.out_h(), pool.kernel_h, pool.stride_h, pool.pad_top(), row_index);
  const int cols = places_read(conv.out_w(), pool.out_w(), pool.kernel_w, pool.stride_w, pool.pad_left(), col_index);
  const std::size_t pixels = std::size_t(rows) * std::size_t(cols);
  const int chunk =
      std::min(max_batch, use_sparse(conv) ? backward_chunk(padded) : narrow_chunk_images(pixels, conv.out_c));
  // Every offset below (bases_, window_pixels_, the backward's patch offsets) is 32-bit and lies
  // inside one chunk of padded images: refuse a geometry that does not fit before building any.
  if (std::size_t(chunk) * padded.image > UINT32_MAX) {
    throw std::invalid_argument("Conv2DPool: " + std::to_string(chunk) + " padded image(s) of " +
                                std::to_string(padded.image) + " values each exceed 32-bit offsets");
  }
  for (int h = 0; h < conv.out_h(); ++h)
    for (int w = 0; w < conv.out_w(); ++w)
      if (row_index[h] >= 0 && col_index[w] >= 0) bases_.push_back(padded.base(h, w));
  window_start_.push_back(0);
  std::size_t largest = 0;
  for (int oh = 0; oh < pool.out_h(); ++oh)
    for (int ow = 0; ow < pool.out_w(); ++ow) {
      const int h0 = oh * pool.stride_h - pool.pad_top(), w0 = ow * pool.stride_w - pool.pad_left();
      for (int h = std::max(0, h0); h < std::min(conv.out_h(), h0 + pool.kernel_h); ++h)
        for (int w = std::max(0, w0); w < std::min(conv.out_w(), w0 + pool.kernel_w); ++w)
          window_pixels_.push_back(std::uint32_t(row_index[h] * cols + col_index[w]));
      window_start_.push_back(std::uint32_t(window_pixels_.size()));
      largest = std::max<std::size_t>(largest, window_start_.back() - window_start_[window_start_.size() - 2]);
    }

  const std::size_t cp = detail::padded_channels<T>(conv.out_c), patch = conv.patch(), c_n = conv.out_c;
  const std::size_t windows = std::size_t(pool.out_h()) * pool.out_w();
  argmax_.resize(std::size_t(max_batch) * windows * c_n);
  z_.resize(bases_.size() * cp);
  packed_.resize(patch * cp);
  if (padded.copy) xp_.resize(chunk * padded.image);
  if (padded.copy && need_dx) dxp_.resize(chunk * padded.image);
  if (use_sparse(conv)) {
    dwt_.resize(patch * c_n);
    entry_offset_.resize(chunk * windows * c_n);
    entry_g_.resize(chunk * windows * c_n);
    count_.resize(c_n);
    grad_.resize(c_n);
    live_.resize(c_n);
    offset_.resize(largest);
    if (need_dx) {
      wt_.resize(patch * c_n);
      winners_.resize(c_n);
      winner_g_.resize(c_n);
    }
  } else {
    for (int kh = 0; kh < conv.kernel_h; ++kh)
      for (int j = 0; j < padded.run; ++j) taps_.push_back(std::uint32_t(kh * padded.row + j));
    dkp_.resize(patch * cp);
    if (need_dx) {
      dz_.resize(chunk * bases_.size() * c_n);
      dcol_.resize(chunk * bases_.size() * patch);
    }
  }
}

template <typename T>
void Conv2DPool<T>::forward(const T* x, T* y, int n, const DropoutContext*) {
  if (n < 0 || n > max_batch_) throw std::invalid_argument("Conv2DPool::forward: n > max_batch");
  const PaddedInput padded(conv_);
  const std::size_t cp = detail::padded_channels<T>(conv_.out_c), out = pool_.out_size();
  detail::pack_kernel(w_.kernel, conv_.patch(), conv_.out_c, cp, packed_.data());
  for (int img = 0; img < n; ++img) {
    const T* xi = x + img * conv_.in_size();
    if (padded.copy) {
      detail::pad_images(padded, xi, xp_.data(), 1);
      xi = xp_.data();
    }
    detail::conv_pixels(padded, xi, bases_.data(), bases_.size(), packed_.data(), cp, z_.data());
    pool_windows(z_.data(), cp, window_start_, window_pixels_, w_.bias, relu_, conv_.out_c, y + img * out,
                 argmax_.data() + img * out);
  }
}

template <typename T>
void Conv2DPool<T>::backward(const T* x, const T* y, T* dy, T* dx, int n) {
  if (n < 0 || n > max_batch_) throw std::invalid_argument("Conv2DPool::backward: n > max_batch");
  if (dx != nullptr && !need_dx_) throw std::invalid_argument("Conv2DPool::backward: built without need_dx");
  if (n == 0) return;
  const PaddedInput padded(conv_);
  const bool sparse = use_sparse(conv_);
  const int chunk = sparse ? backward_chunk(padded) : narrow_chunk_images(bases_.size(), conv_.out_c);
  if (sparse) {
    if (dx != nullptr) detail::transpose_kernel(w_.kernel, conv_.patch(), conv_.out_c, wt_.data());
    std::fill(dwt_.begin(), dwt_.end(), T(0));
  } else {
    std::fill(dkp_.begin(), dkp_.end(), T(0));
  }
  for (int i0 = 0; i0 < n; i0 += chunk) {
    const int images = std::min(chunk, n - i0);
    const T* xp = x + i0 * conv_.in_size();
    if (padded.copy) {
      detail::pad_images(padded, xp, xp_.data(), images);
      xp = xp_.data();
    }
    T* dxp = dx == nullptr ? nullptr : padded.copy ? dxp_.data() : dx + i0 * conv_.in_size();
    if (dxp != nullptr) std::fill(dxp, dxp + images * padded.image, T(0));
    const std::size_t first = i0 * pool_.out_size();  // the chunk's first output value
    if (sparse) {
      sparse_chunk(xp, y + first, dy + first, argmax_.data() + first, dxp, images);
    } else {
      narrow_chunk(xp, y + first, dy + first, argmax_.data() + first, dxp, images);
    }
    if (dx != nullptr && padded.copy) detail::unpad_images(padded, dxp, dx + i0 * conv_.in_size(), images);
  }
  if (sparse) {
    detail::add_transposed(dwt_.data(), conv_.patch(), conv_.out_c, w_.dkernel);
    return;
  }
  const std::size_t cp = detail::padded_channels<T>(conv_.out_c);
  for (std::size_t k = 0; k < conv_.patch(); ++k) {
    for (int c = 0; c < conv_.out_c; ++c) w_.dkernel[k * conv_.out_c + c] += dkp_[k * cp + c];
  }
}

// The gradient dout of each (window, channel) goes to the window's argmax pixel where the ReLU
// passed: dbias += dout; the entry (the pixel's patch in xp, dout) joins its channel's list for dW, and
// each window's winners add sum over their channels of dout * kernel[:, c] to dX at once.
template <typename T>
void Conv2DPool<T>::sparse_chunk(const T* xp, const T* y, const T* dy, const Index* arg, T* dxp, int images) {
  const PaddedInput padded(conv_);
  const bool relu = relu_;
  auto passed = [relu](T out, T dout) { return !relu || out > T(0) ? dout : T(0); };  // reads both: no masked loads
  const int c_n = conv_.out_c;
  const std::size_t windows = window_start_.size() - 1, stride = entry_g_.size() / c_n, patch = conv_.patch();
  T* __restrict grad = grad_.data();         // (out_c): the window's gradients
  int* __restrict live = live_.data();       // (out_c): its channels with a nonzero gradient
  int* __restrict count = count_.data();
  std::fill(count, count + c_n, 0);
  for (int img = 0; img < images; ++img) {
    for (std::size_t q = 0; q < windows; ++q, y += c_n, dy += c_n, arg += c_n) {
      const std::uint32_t* pix = window_pixels_.data() + window_start_[q];
      const int size = int(window_start_[q + 1] - window_start_[q]);
      for (int c = 0; c < c_n; ++c) grad[c] = passed(y[c], dy[c]);
      if (w_.dbias != nullptr) {
        for (int c = 0; c < c_n; ++c) w_.dbias[c] += grad[c];
      }
      std::uint32_t* patch_offset = offset_.data();  // (window size): each pixel's patch in xp
      for (int k = 0; k < size; ++k) patch_offset[k] = std::uint32_t(img * padded.image + bases_[pix[k]]);
      int lives = 0;
      for (int c = 0; c < c_n; ++c) {
        const int nonzero = grad[c] != T(0);
        entry_offset_[c * stride + count[c]] = patch_offset[arg[c]];
        entry_g_[c * stride + count[c]] = grad[c];
        count[c] += nonzero;
        live[lives] = c;
        lives += nonzero;
      }
      if (dxp == nullptr) continue;
      for (int k = 0; k < size; ++k) {
        int* __restrict winners = winners_.data();
        T* __restrict winner_g = winner_g_.data();
        int n = 0;
        for (int i = 0; i < lives; ++i) {
          const int c = live[i];
          winners[n] = c;
          winner_g[n] = grad[c];
          n += arg[c] == Index(k);
        }
        if (n == 0) continue;
        detail::weighted_patches(
            padded, padded.run, padded.row, n, winner_g, [&](int e) { return wt_.data() + winners[e] * patch; },
            dxp + patch_offset[k]);
      }
    }
  }
  for (int c = 0; c < c_n; ++c) {
    const std::uint32_t* offsets = entry_offset_.data() + c * stride;
    detail::weighted_patches(padded, padded.row, padded.run, count[c], entry_g_.data() + c * stride,
                             [&](int e) { return xp + offsets[e]; }, dwt_.data() + c * patch);
  }
}

// Where kernel rows are narrower than a vector (the first layer): dkp_ += each window's gradient
// times its argmax pixel's patch, vectorized over the channels (per window pixel, the gradients of
// the channels it wins): blocks of taps x one channel vector in registers. dX, if asked: dz (images,
// pixels, out_c) = the gradients at the argmax pixels, zeros elsewhere, then GEMM.
template <typename T>
void Conv2DPool<T>::narrow_chunk(const T* xp, const T* y, const T* dy, const Index* arg, T* dxp, int images) {
  using S = detail::Simd<T>;
  using V = typename S::V;
  using M = decltype(V{} < V{});
  constexpr int L = S::kLanes;
  const PaddedInput padded(conv_);
  const bool relu = relu_;
  auto passed = [relu](T out, T dout) { return !relu || out > T(0) ? dout : T(0); };  // reads both: no masked loads
  const int c_n = conv_.out_c, patch = int(taps_.size());
  const std::size_t windows = window_start_.size() - 1, cp = detail::padded_channels<T>(c_n);
  if (w_.dbias != nullptr) {
    for (std::size_t i = 0; i < images * windows; ++i) {
      for (int c = 0; c < c_n; ++c) w_.dbias[c] += passed(y[i * c_n + c], dy[i * c_n + c]);
    }
  }
  // Channels c0 + [0, L) of row i of y, dy or arg (as M), zeros beyond c_n.
  auto lanes = [&]<typename U, typename W>(const U* p, std::size_t i, int c0, W) {
    W v;
    if (c0 + L <= c_n) {
      std::memcpy(&v, p + i * c_n + c0, sizeof v);
    } else {
      U part[L] = {};
      std::copy(p + i * c_n + c0, p + (i + 1) * c_n, part);
      std::memcpy(&v, part, sizeof v);
    }
    return v;
  };
  const int blocks = (patch + detail::kSparseVectors - 1) / detail::kSparseVectors;
  for (int c0 = 0; c0 < c_n; c0 += L) {
    for (int b = 0, t0 = 0; b < blocks; ++b) {
      const int nt = (patch - t0 + (blocks - b) - 1) / (blocks - b);
      detail::with_size<detail::kSparseVectors>(nt, [&](auto n) {
        constexpr int NT = decltype(n)::value;
        V acc[NT] = {};
        const std::uint32_t* tap = taps_.data() + t0;
        for (int img = 0; img < images; ++img) {
          for (std::size_t q = 0; q < windows; ++q) {
            const std::size_t i = img * windows + q;
            const V yv = lanes(y, i, c0, V{}), dv = lanes(dy, i, c0, V{});
            const M best_k = lanes(arg, i, c0, M{});
            const V gv = relu_ ? (yv > V{} ? dv : V{}) : dv;
            const std::uint32_t* pix = window_pixels_.data() + window_start_[q];
            for (int k = 0; k < int(window_start_[q + 1] - window_start_[q]); ++k) {
              const V gk = best_k == best_k - best_k + k ? gv : V{};
              const T* x = xp + img * padded.image + bases_[pix[k]];
              for (int t = 0; t < NT; ++t) acc[t] += S::splat(x[tap[t]]) * gk;
            }
          }
        }
        for (int t = 0; t < NT; ++t) {
          T* d = dkp_.data() + (t0 + t) * cp + c0;
          S::store(d, S::load(d) + acc[t]);
        }
      });
      t0 += nt;
    }
  }
  if (dxp == nullptr) return;
  const std::size_t pixels = bases_.size();
  std::fill(dz_.begin(), dz_.begin() + images * pixels * c_n, T(0));
  for (int img = 0; img < images; ++img) {
    T* dzi = dz_.data() + img * pixels * c_n;
    for (std::size_t q = 0; q < windows; ++q, y += c_n, dy += c_n, arg += c_n) {
      const std::uint32_t* pix = window_pixels_.data() + window_start_[q];
      for (int c = 0; c < c_n; ++c) dzi[pix[arg[c]] * c_n + c] += passed(y[c], dy[c]);
    }
  }
  detail::conv_gemm_dinput(padded, bases_, w_.kernel, dz_.data(), c_n, dcol_.data(), dxp, images);
}

template class Conv2DPool<float>;
template class Conv2DPool<double>;

}  // namespace fmnist
