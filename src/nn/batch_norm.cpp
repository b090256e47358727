// BatchNormalization as Keras computes it, split so that the statistics can span micro-batches
// and ranks: per-call sums in double (fixed order), which the model converts to fixed point and
// has summed over the global batch, then the normalisation and its gradient from those totals.
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "fmnist/layers.hpp"
#include "simd.hpp"

namespace fmnist {

template <typename T>
BatchNorm<T>::BatchNorm(int channels, std::size_t pixels, double momentum, double epsilon, bool relu, const T* gamma,
                        const T* beta, T* moving_mean, T* moving_variance, T* dgamma, T* dbeta)
    : channels_(channels),
      pixels_(pixels),
      momentum_(momentum),
      epsilon_(epsilon),
      relu_(relu),
      gamma_(gamma),
      beta_(beta),
      moving_mean_(moving_mean),
      moving_variance_(moving_variance),
      dgamma_(dgamma),
      dbeta_(dbeta),
      mean_(std::size_t(channels)),
      inv_std_(std::size_t(channels), 1.0),
      a_(std::size_t(channels)),
      b_(std::size_t(channels)),
      da_(std::size_t(channels)),
      db_(std::size_t(channels)),
      dc_(std::size_t(channels)),
      sums_(2 * std::size_t(channels)),
      gx_(2 * std::size_t(channels)),
      block_(2 * std::size_t(channels)) {
  if (channels < 1 || pixels < 1 || moving_mean == nullptr || moving_variance == nullptr ||
      (gamma == nullptr) != (dgamma == nullptr) || (beta == nullptr) != (dbeta == nullptr) || !(epsilon > 0))
    throw std::invalid_argument("BatchNorm: bad shape or tensors");
}

namespace {

constexpr std::size_t kSumRows = 64;  // rows summed per pass over a block of channels (L1-resident)

// s1 (c) += sum of x - K, s2 (c) += sum of (x - K)^2 over rows of c channels, K the shift: per
// channel row after row in double, as a plain loop would, with each block of channels' sums held
// in registers over kSumRows rows.
template <typename T>
void shifted_sums(const T* __restrict x, std::size_t rows, std::size_t c, const T* __restrict shift,
                  double* __restrict s1, double* __restrict s2) {
  using D = detail::Simd<double>;
  using V = D::V;
  constexpr std::size_t L = D::kLanes;
  for (std::size_t r0 = 0; r0 < rows; r0 += kSumRows) {
    const std::size_t r1 = std::min(rows, r0 + kSumRows);
    std::size_t k = 0;
    for (; k + L <= c; k += L) {
      V m, a1 = D::load(s1 + k), a2 = D::load(s2 + k);
      for (std::size_t i = 0; i < L; ++i) m[i] = double(shift[k + i]);
      for (std::size_t r = r0; r < r1; ++r) {
        V d;
        for (std::size_t i = 0; i < L; ++i) d[i] = double(x[r * c + k + i]);
        d -= m;
        a1 += d;
        a2 += d * d;
      }
      D::store(s1 + k, a1);
      D::store(s2 + k, a2);
    }
    for (; k < c; ++k) {
      for (std::size_t r = r0; r < r1; ++r) {
        const double d = double(x[r * c + k]) - double(shift[k]);
        s1[k] += d;
        s2[k] += d * d;
      }
    }
  }
}

}  // namespace

template <typename T>
void BatchNorm<T>::batch_sums(const T* x, int n, double* sums) const {
  const std::size_t c = std::size_t(channels_);
  // sums (channels) of x - K, then (channels) of (x - K)^2, K the moving mean
  shifted_sums(x, std::size_t(n) * pixels_, c, moving_mean_, sums, sums + c);
}

// The moving variance takes the BIASED batch variance (divide by n), as Keras 3 does (keras/src/
// layers/normalization/batch_normalization.py: ops.moments) and tf.keras 2.x for 2-D inputs (the
// unfused path, tf.nn.moments). tf.keras 2.x's fused path for 4-D inputs differs: TensorFlow's
// kernel (tensorflow/core/kernels/fused_batch_norm_op.cc) updates with batch_var * n/(n-1), and
// _maybe_add_or_remove_bessels_correction, which would undo that, is a no-op because every layer
// sets _bessels_correction_test_only = True (Keras 2.12-2.15, tf-keras 2.15.0): there the moving
// variance is larger by a factor of about 1 + 1/n (docs/models.md: BatchNormalization).
template <typename T>
void BatchNorm<T>::set_batch(const double* sums, double count, bool update_moving) {
  const std::size_t c = std::size_t(channels_);
  for (std::size_t k = 0; k < c; ++k) {
    const double shift = count > 0 ? sums[k] / count : 0.0;
    const double var = count > 0 ? std::max(sums[c + k] / count - shift * shift, 0.0) : 0.0;  // biased
    mean_[k] = double(moving_mean_[k]) + shift;
    inv_std_[k] = 1.0 / std::sqrt(var + epsilon_);
    const double gamma = gamma_ ? double(gamma_[k]) : 1.0, beta = beta_ ? double(beta_[k]) : 0.0;
    a_[k] = T(gamma * inv_std_[k]);
    b_[k] = T(beta - mean_[k] * gamma * inv_std_[k]);
    if (update_moving && count > 0) {
      moving_mean_[k] = T(double(moving_mean_[k]) * momentum_ + mean_[k] * (1.0 - momentum_));
      moving_variance_[k] = T(double(moving_variance_[k]) * momentum_ + var * (1.0 - momentum_));
    }
  }
}

template <typename T>
void BatchNorm<T>::forward(const T* x, T* y, int n, const DropoutContext* train) {
  const std::size_t c = std::size_t(channels_), rows = std::size_t(n) * pixels_;
  if (train == nullptr) {  // evaluation: the moving statistics
    for (std::size_t k = 0; k < c; ++k) {
      const double gamma = gamma_ ? double(gamma_[k]) : 1.0, beta = beta_ ? double(beta_[k]) : 0.0;
      const double scale = gamma / std::sqrt(double(moving_variance_[k]) + epsilon_);
      a_[k] = T(scale);
      b_[k] = T(beta - double(moving_mean_[k]) * scale);
    }
  }
  const T* a = a_.data();
  const T* b = b_.data();
  for (std::size_t r = 0; r < rows; ++r, x += c, y += c) {
    for (std::size_t k = 0; k < c; ++k) y[k] = a[k] * x[k] + b[k];
    if (relu_) {
      for (std::size_t k = 0; k < c; ++k) y[k] = std::max(y[k], T(0));
    }
  }
}

namespace {

// g1 (c) += sum of dy, gx (c) += sum of dy * x over rows of c channels; with relu only where y > 0.
// Blocks of kBlock rows are summed in T (plain vector code), each block's sums then in double.
template <typename T>
void dy_sums(const T* __restrict x, const T* __restrict y, const T* __restrict dy, std::size_t rows, std::size_t c,
             bool relu, double* __restrict g1, double* __restrict gx, T* __restrict b1, T* __restrict bx) {
  constexpr std::size_t kBlock = 8;
  for (std::size_t r0 = 0; r0 < rows; r0 += kBlock) {
    std::fill(b1, b1 + c, T(0));
    std::fill(bx, bx + c, T(0));
    for (std::size_t r = r0; r < std::min(rows, r0 + kBlock); ++r) {
      const T* xr = x + r * c;
      const T* yr = y + r * c;
      const T* dr = dy + r * c;
      for (std::size_t k = 0; k < c; ++k) {
        const T g = relu && !(yr[k] > T(0)) ? T(0) : dr[k];
        b1[k] += g;
        bx[k] += g * xr[k];
      }
    }
    for (std::size_t k = 0; k < c; ++k) {
      g1[k] += double(b1[k]);
      gx[k] += double(bx[k]);
    }
  }
}

}  // namespace

// sum(dy * xhat) = inv_std * (sum(dy * x) - mean * sum(dy)): two plain sums per channel.
template <typename T>
void BatchNorm<T>::backward_sums(const T* x, const T* y, const T* dy, int n, double* sums) {
  const std::size_t c = std::size_t(channels_);
  std::fill(gx_.begin(), gx_.end(), 0.0);
  double* g1 = gx_.data();      // (channels): sum of dy
  double* gx = gx_.data() + c;  // (channels): sum of dy * x
  dy_sums(x, y, dy, std::size_t(n) * pixels_, c, relu_, g1, gx, block_.data(), block_.data() + c);
  for (std::size_t k = 0; k < c; ++k) {
    sums[k] += g1[k];
    sums[c + k] += inv_std_[k] * (gx[k] - mean_[k] * g1[k]);
  }
}

// dx = k * (dy - mean(dy) - xhat * mean(dy * xhat)), k = gamma * inv_std, xhat = (x - mean) * inv_std,
// as da * dy + db * x + dc per channel.
template <typename T>
void BatchNorm<T>::set_backward(const double* sums, double count) {
  const std::size_t c = std::size_t(channels_);
  for (std::size_t k = 0; k < c; ++k) {
    const double dy_mean = count > 0 ? sums[k] / count : 0.0, dyx_mean = count > 0 ? sums[c + k] / count : 0.0;
    const double scale = (gamma_ ? double(gamma_[k]) : 1.0) * inv_std_[k], slope = inv_std_[k] * dyx_mean;
    da_[k] = T(scale);
    db_[k] = T(-scale * slope);
    dc_[k] = T(scale * (slope * mean_[k] - dy_mean));
  }
}

template <typename T>
void BatchNorm<T>::backward(const T* x, const T* y, T* dy, T* dx, int n) {
  std::fill(sums_.begin(), sums_.end(), 0.0);
  backward_sums(x, y, dy, n, sums_.data());
  backward_with(x, y, dy, dx, n, sums_.data());
}

template <typename T>
void BatchNorm<T>::backward_with(const T* x, const T* y, const T* dy, T* dx, int n, const double* sums) {
  const std::size_t c = std::size_t(channels_), rows = std::size_t(n) * pixels_;
  for (std::size_t k = 0; k < c; ++k) {
    if (dbeta_ != nullptr) dbeta_[k] += T(sums[k]);
    if (dgamma_ != nullptr) dgamma_[k] += T(sums[c + k]);
  }
  if (dx == nullptr) return;
  const T* da = da_.data();
  const T* db = db_.data();
  const T* dc = dc_.data();
  for (std::size_t r = 0; r < rows; ++r, x += c, y += c, dy += c, dx += c) {
    if (relu_) {
      for (std::size_t k = 0; k < c; ++k) dx[k] = da[k] * (y[k] > T(0) ? dy[k] : T(0)) + db[k] * x[k] + dc[k];
    } else {
      for (std::size_t k = 0; k < c; ++k) dx[k] = da[k] * dy[k] + db[k] * x[k] + dc[k];
    }
  }
}

template class BatchNorm<float>;
template class BatchNorm<double>;

}  // namespace fmnist
