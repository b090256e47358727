// DepthwiseConv2D, NHWC, any kernel, stride, padding, dilation and depth_multiplier (Keras's output
// channel c * depth_multiplier + m). Each image is copied once into xe_, padded, each channel repeated
// depth_multiplier times and rounded up to the vector lanes (zeros around and beyond), so that every
// tap of every output pixel is whole vectors at a fixed offset: forward in register blocks of pixels x
// channel vectors with the bias and relu, dW in blocks of taps x one vector summed pixel by pixel, dX
// with strides 1 as the forward kernel (taps reversed) over the padded gradient, else scattered tap by
// tap. Every sum runs in a fixed order (pixel, tap, image), whatever the batch. SeparableConv2D's first step.
#include "eigen_views.hpp"  // first: it includes the intrinsics headers

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "bias_activation.hpp"
#include "direct_conv.hpp"
#include "fmnist/layers.hpp"

namespace fmnist {
namespace {

using detail::PaddedInput;
using detail::Simd;
using detail::with_size;

// Taps of a dW block: its accumulators, one vector each, and the loads beside them fit the registers.
constexpr int kTapBlock = detail::kRegisters - 4;

// The geometry of xe_: the layer's shape with cp channels per pixel.
PaddedInput expanded(ConvShape s, std::size_t cp) {
  s.in_c = int(cp);
  return PaddedInput(s);
}

// The interior of xe (g.h, g.w, cp) = x (in_h, in_w, in_c) with each channel repeated dm times;
// what lies around and beyond is left as it is (zeros, written once).
template <typename T>
void expand_image(const PaddedInput& g, const ConvShape& s, int dm, const T* x, T* xe) {
  const std::size_t cp = std::size_t(g.s.in_c);
  const int h1 = std::min(g.h, g.pad_top + s.in_h), w1 = std::min(g.w, g.pad_left + s.in_w);
  for (int r = g.pad_top; r < h1; ++r) {
    const T* xr = x + std::size_t(r - g.pad_top) * s.in_w * s.in_c;
    for (int c = g.pad_left; c < w1; ++c) {
      const T* xi = xr + std::size_t(c - g.pad_left) * s.in_c;
      T* o = xe + r * g.row + c * cp;
      if (dm == 1) {
        std::memcpy(o, xi, std::size_t(s.in_c) * sizeof(T));
        continue;
      }
      for (int ch = 0; ch < s.in_c; ++ch)
        for (int m = 0; m < dm; ++m) o[ch * dm + m] = xi[ch];
    }
  }
}

// dx (in_h, in_w, in_c) = each image pixel's dL/dxe, at(r, c) for the pixel at (r, c) of the padded
// image, each channel the sum of its dm copies in order; pixels that no output reads (beyond g.h or
// g.w) get 0. at is called once per pixel read, row-major.
template <typename T, typename At>
void contract_image(const PaddedInput& g, const ConvShape& s, int dm, At&& at, T* dx) {
  for (int ih = 0; ih < s.in_h; ++ih) {
    for (int iw = 0; iw < s.in_w; ++iw, dx += s.in_c) {
      const int r = ih + g.pad_top, c = iw + g.pad_left;
      if (r >= g.h || c >= g.w) {
        std::fill(dx, dx + s.in_c, T(0));
        continue;
      }
      const T* d = at(r, c);
      for (int ch = 0; ch < s.in_c; ++ch, d += dm) {
        T sum = d[0];
        for (int m = 1; m < dm; ++m) sum += d[m];
        dx[ch] = sum;
      }
    }
  }
}

// z (R pixels, NV vectors; rows cp apart) = act(the sums over the taps, in order, of src at the
// pixels' bases times w (taps, rows cp apart), + bias); src, w, bias and z start at the block's first
// channel; bias may be null.
template <typename T, int R, int NV>
[[gnu::always_inline]] inline void pixel_block(const T* src, const std::uint32_t* bases, const std::uint32_t* taps,
                                               int count, const T* w, std::size_t cp, const T* bias, bool relu, T* z) {
  using S = Simd<T>;
  using V = typename S::V;
  constexpr int L = S::kLanes;
  V acc[R][NV] = {};
  for (int t = 0; t < count; ++t, w += cp) {
    V wv[NV];
    for (int v = 0; v < NV; ++v) {
      wv[v] = S::load(w + v * L);
      S::pin(wv[v]);
    }
    for (int r = 0; r < R; ++r) {
      const T* p = src + bases[r] + taps[t];
      for (int v = 0; v < NV; ++v) acc[r][v] += S::load(p + v * L) * wv[v];
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < NV; ++v) {
      V out = bias != nullptr ? acc[r][v] + S::load(bias + v * L) : acc[r][v];
      if (relu) out = out < V{} ? V{} : out;  // std::max(out, 0) lane by lane
      S::store(z + r * cp + v * L, out);
    }
  }
}

// z (count, cp) = act(sums + bias) of pixel_block for the pixels at bases[0, count): blocks of
// kForwardPixels pixels x channel blocks of kForwardVectors vectors.
template <typename T>
void depthwise_pixels(const T* src, const std::uint32_t* bases, std::size_t count, const std::uint32_t* taps,
                      int ntaps, const T* w, std::size_t cp, const T* bias, bool relu, T* z) {
  constexpr int L = Simd<T>::kLanes, R = detail::kForwardPixels;
  for (std::size_t p = 0; p < count; p += R) {
    detail::for_each_channel_block<T>(cp, [&](int v0, int nv) {
      with_size<R>(int(std::min<std::size_t>(R, count - p)), [&](auto r) {
        with_size<detail::kForwardVectors>(nv, [&](auto nvs) {
          pixel_block<T, decltype(r)::value, decltype(nvs)::value>(src + v0 * L, bases + p, taps, ntaps, w + v0 * L, cp,
                                                                    bias == nullptr ? nullptr : bias + v0 * L, relu,
                                                                    z + p * cp + v0 * L);
        });
      });
    });
  }
}

// dw (TB taps, one vector each; rows cp apart) += the sums over the pixels, in order, of xe at
// each tap times dz (pixels, rows cp apart); xe, dz and dw start at the vector's first channel.
template <typename T, int TB>
[[gnu::always_inline]] inline void dkernel_block(const T* xe, const std::uint32_t* bases, std::size_t count,
                                                 const std::uint32_t* taps, const T* dz, std::size_t cp, T* dw) {
  using S = Simd<T>;
  using V = typename S::V;
  V acc[TB] = {};
  for (std::size_t p = 0; p < count; ++p, dz += cp) {
    const V d = S::load(dz);
    const T* x = xe + bases[p];
    for (int t = 0; t < TB; ++t) acc[t] += S::load(x + taps[t]) * d;
  }
  for (int t = 0; t < TB; ++t) S::store(dw + t * cp, S::load(dw + t * cp) + acc[t]);
}

// dw (taps, cp) += dkernel_block over every vector of channels and blocks of kTapBlock taps.
template <typename T>
void depthwise_dkernel(const T* xe, const std::vector<std::uint32_t>& bases, const std::vector<std::uint32_t>& taps,
                       const T* dz, std::size_t cp, T* dw) {
  const int ntaps = int(taps.size()), blocks = (ntaps + kTapBlock - 1) / kTapBlock;
  for (std::size_t c = 0; c < cp; c += Simd<T>::kLanes) {
    for (int b = 0, t0 = 0; b < blocks; ++b) {
      const int nt = (ntaps - t0 + (blocks - b) - 1) / (blocks - b);
      with_size<kTapBlock>(nt, [&](auto tb) {
        dkernel_block<T, decltype(tb)::value>(xe + c, bases.data(), bases.size(), taps.data() + t0, dz + c, cp,
                                              dw + t0 * cp + c);
      });
      t0 += nt;
    }
  }
}

// dxe (g.h, g.w, cp) += each pixel's dz times each tap of w, at the tap: pixel, then vector, then tap.
template <typename T>
void scatter_dinput(const std::uint32_t* bases, std::size_t count, const std::uint32_t* taps, int ntaps, const T* w,
                    const T* dz, std::size_t cp, T* dxe) {
  using S = Simd<T>;
  using V = typename S::V;
  constexpr int L = S::kLanes;
  for (std::size_t p = 0; p < count; ++p, dz += cp) {
    T* o = dxe + bases[p];
    for (std::size_t c = 0; c < cp; c += L) {
      const V d = S::load(dz + c);
      for (int t = 0; t < ntaps; ++t) {
        T* q = o + taps[t] + c;
        S::store(q, S::load(q) + S::load(w + t * cp + c) * d);
      }
    }
  }
}

// The geometry of dzp_: one image's dL/dz at (span_h - 1, span_w - 1), zeros around.
struct PaddedGradient {
  explicit PaddedGradient(const ConvShape& s, std::size_t cp)
      : top(s.span_h() - 1), left(s.span_w() - 1), row(std::size_t(s.out_w() + 2 * left) * cp),
        size(std::size_t(s.out_h() + 2 * top) * row) {}
  int top, left;
  std::size_t row, size;
};

}  // namespace

template <typename T>
DepthwiseConv2D<T>::DepthwiseConv2D(ConvShape shape, int depth_multiplier, Activation activation, int max_batch,
                                    bool need_dx, const T* kernel, const T* bias, T* dkernel, T* dbias)
    : shape_(shape),
      multiplier_(depth_multiplier),
      relu_(activation == Activation::relu),
      max_batch_(max_batch),
      need_dx_(need_dx),
      w_{kernel, bias, dkernel, dbias},
      cp_(detail::padded_channels<T>(shape.out_c)) {
  if (shape.in_c < 1 || depth_multiplier < 1 || shape.out_c != shape.in_c * depth_multiplier || shape.out_h() < 1 ||
      shape.out_w() < 1 || max_batch < 1 || activation == Activation::softmax ||
      (bias == nullptr) != (dbias == nullptr))
    throw std::invalid_argument("DepthwiseConv2D: bad shape, depth_multiplier, activation or max_batch");
  const PaddedInput g = expanded(shape, cp_);
  const PaddedGradient d(shape, cp_);
  if (g.image > UINT32_MAX || d.size > UINT32_MAX)
    throw std::invalid_argument("DepthwiseConv2D: a padded image exceeds 32-bit offsets");
  for (int oh = 0; oh < shape.out_h(); ++oh)
    for (int ow = 0; ow < shape.out_w(); ++ow) bases_.push_back(g.base(oh, ow));
  for (int i = 0; i < shape.kernel_h; ++i)
    for (int j = 0; j < shape.kernel_w; ++j) {
      taps_.push_back(std::uint32_t(i * g.row_step + j * shape.dilation_w * cp_));
      dtaps_.push_back(std::uint32_t(i * shape.dilation_h * d.row + j * shape.dilation_w * cp_));
    }
  packed_.resize(taps_.size() * cp_);  // zeros beyond out_c, for good
  bias_p_.resize(cp_);
  if (bias != nullptr) std::copy(bias, bias + shape.out_c, bias_p_.begin());
  dpacked_.resize(packed_.size());
  xe_.resize(g.image);  // zeros around the interior, for good
  if (cp_ != std::size_t(shape.out_c)) z_.resize(bases_.size() * cp_);
  if (!need_dx) return;
  if (shape.stride_h > 1 || shape.stride_w > 1) {
    dxe_.resize(g.image);
    return;
  }
  for (int r = g.pad_top; r < std::min(g.h, g.pad_top + shape.in_h); ++r)
    for (int c = g.pad_left; c < std::min(g.w, g.pad_left + shape.in_w); ++c) dbases_.push_back(r * d.row + c * cp_);
  flipped_.resize(packed_.size());
  dzp_.resize(d.size);  // zeros around the interior and beyond out_c, for good
  dxe_.resize(dbases_.size() * cp_);
}

template <typename T>
void DepthwiseConv2D<T>::forward(const T* x, T* y, int n, const DropoutContext*) {
  if (n < 0 || n > max_batch_) throw std::invalid_argument("DepthwiseConv2D::forward: n > max_batch");
  const ConvShape& s = shape_;
  const PaddedInput g = expanded(s, cp_);
  for (std::size_t t = 0; t < taps_.size(); ++t)
    std::copy(w_.kernel + t * s.out_c, w_.kernel + (t + 1) * s.out_c, packed_.data() + t * cp_);
  if (w_.bias != nullptr) std::copy(w_.bias, w_.bias + s.out_c, bias_p_.begin());
  const std::size_t count = bases_.size();
  for (int img = 0; img < n; ++img) {
    expand_image(g, s, multiplier_, x + img * s.in_size(), xe_.data());
    T* yi = y + img * s.out_size();
    T* z = z_.empty() ? yi : z_.data();
    depthwise_pixels(xe_.data(), bases_.data(), count, taps_.data(), int(taps_.size()), packed_.data(), cp_,
                     w_.bias != nullptr ? bias_p_.data() : nullptr, relu_, z);
    if (z != yi) {
      for (std::size_t p = 0; p < count; ++p) std::copy(z + p * cp_, z + p * cp_ + s.out_c, yi + p * s.out_c);
    }
  }
}

template <typename T>
void DepthwiseConv2D<T>::backward(const T* x, const T* y, T* dy, T* dx, int n) {
  if (n < 0 || n > max_batch_) throw std::invalid_argument("DepthwiseConv2D::backward: n > max_batch");
  if (dx != nullptr && !need_dx_) throw std::invalid_argument("DepthwiseConv2D::backward: built without need_dx");
  const ConvShape& s = shape_;
  const PaddedInput g = expanded(s, cp_);
  const std::size_t count = bases_.size();
  if (relu_) detail::relu_mask(y, dy, n * s.out_size());
  if (w_.dbias != nullptr) detail::add_column_sums(dy, n * count, s.out_c, w_.dbias);
  std::fill(dpacked_.begin(), dpacked_.end(), T(0));
  for (int img = 0; img < n; ++img) {
    expand_image(g, s, multiplier_, x + img * s.in_size(), xe_.data());
    const T* dz = dy + img * s.out_size();  // (pixels, cp_): dy itself, or with zero channels beyond out_c
    if (!z_.empty()) {
      for (std::size_t p = 0; p < count; ++p) {
        std::copy(dz + p * s.out_c, dz + (p + 1) * s.out_c, z_.data() + p * cp_);
        std::fill(z_.data() + p * cp_ + s.out_c, z_.data() + (p + 1) * cp_, T(0));
      }
      dz = z_.data();
    }
    depthwise_dkernel(xe_.data(), bases_, taps_, dz, cp_, dpacked_.data());
    if (dx != nullptr) input_gradient(dz, dx + img * s.in_size());
  }
  for (std::size_t t = 0; t < taps_.size(); ++t) {
    for (int c = 0; c < s.out_c; ++c) w_.dkernel[t * s.out_c + c] += dpacked_[t * cp_ + c];
  }
}

template <typename T>
void DepthwiseConv2D<T>::input_gradient(const T* dz, T* dx) {
  const ConvShape& s = shape_;
  const PaddedInput g = expanded(s, cp_);
  const std::size_t count = bases_.size();
  const std::size_t ntaps = taps_.size();
  if (dbases_.empty()) {  // strides: scatter
    std::fill(dxe_.begin(), dxe_.end(), T(0));
    scatter_dinput(bases_.data(), count, taps_.data(), int(ntaps), packed_.data(), dz, cp_, dxe_.data());
    contract_image(g, s, multiplier_, [&](int r, int c) { return dxe_.data() + r * g.row + c * cp_; }, dx);
    return;
  }
  const PaddedGradient d(s, cp_);
  for (std::size_t t = 0; t < ntaps; ++t)
    std::copy(packed_.data() + t * cp_, packed_.data() + (t + 1) * cp_, flipped_.data() + (ntaps - 1 - t) * cp_);
  for (int oh = 0; oh < s.out_h(); ++oh) {
    T* row = dzp_.data() + (oh + d.top) * d.row + d.left * cp_;
    for (int ow = 0; ow < s.out_w(); ++ow, dz += cp_) std::copy(dz, dz + s.out_c, row + ow * cp_);
  }
  depthwise_pixels(dzp_.data(), dbases_.data(), dbases_.size(), dtaps_.data(), int(ntaps), flipped_.data(), cp_,
                   static_cast<const T*>(nullptr), false, dxe_.data());
  std::size_t k = 0;
  contract_image(g, s, multiplier_, [&](int, int) { return dxe_.data() + cp_ * k++; }, dx);
}

template class DepthwiseConv2D<float>;
template class DepthwiseConv2D<double>;

}  // namespace fmnist
