// Conv2D with any kernel, stride, padding and dilation, NHWC. 3x3 stride-1 "same" convolutions
// between >= 32 channels take Winograd's F(4x4, 3x3) (winograd.hpp) forward and backward; the
// others: forward straight from the input (the register blocks of direct_conv.hpp) plus bias and
// relu (or linear); backward masks dy by the ReLU and sums the bias gradient in one pass; with
// stride 1 and "same" padding (odd spans) dX is the forward's kernel run on dy and dW a direct
// register-blocked sum (direct_conv.hpp), else both are im2col + GEMM (im2col.hpp). The path of
// every convolution that no MaxPooling2D follows (Conv2DPool takes the others).
#include "im2col.hpp"  // first: it includes the intrinsics headers

#include <algorithm>
#include <stdexcept>

#include "bias_activation.hpp"
#include "direct_conv.hpp"
#include "fmnist/layers.hpp"
#include "winograd.hpp"

namespace fmnist {

using detail::add_bias_activation;
using detail::PaddedInput;
using detail::relu_mask;

template <typename T>
Conv2D<T>::Conv2D(ConvShape shape, Activation activation, int max_batch, bool need_dx, const T* kernel,
                  const T* bias, T* dkernel, T* dbias)
    : shape_(shape),
      relu_(activation == Activation::relu),
      max_batch_(max_batch),
      need_dx_(need_dx),
      w_{kernel, bias, dkernel, dbias} {
  if (shape.in_c < 1 || shape.out_c < 1 || shape.out_h() < 1 || shape.out_w() < 1 || max_batch < 1 ||
      activation == Activation::softmax || (bias == nullptr) != (dbias == nullptr)) {
    throw std::invalid_argument("Conv2D: bad shape, activation or max_batch");
  }
  if (detail::Winograd<T>::fits(shape)) {
    winograd_ = std::make_unique<detail::Winograd<T>>(shape, max_batch, need_dx);
    return;
  }
  const PaddedInput padded(shape);
  const std::size_t pixels = std::size_t(shape.out_h()) * std::size_t(shape.out_w());
  const int chunk = std::min(max_batch, detail::gemm_chunk_images(pixels, shape.patch()));
  // The patch offsets (bases_) are 32-bit and lie inside one chunk of padded images: refuse a
  // geometry that does not fit before building anything.
  if (std::size_t(chunk) * padded.image > UINT32_MAX)
    throw std::invalid_argument("Conv2D: " + std::to_string(chunk) + " padded image(s) of " +
                                std::to_string(padded.image) + " values each exceed 32-bit offsets");
  for (int oh = 0; oh < shape.out_h(); ++oh)
    for (int ow = 0; ow < shape.out_w(); ++ow) bases_.push_back(padded.base(oh, ow));
  const std::size_t cp = detail::padded_channels<T>(shape.out_c);
  packed_.resize(shape.patch() * cp);
  if (cp != std::size_t(shape.out_c)) z_.resize(pixels * cp);
  if (padded.copy) xp_.resize(chunk * padded.image);
  direct_dx_ = need_dx && direct_dx_fits(shape);
  direct_dw_ = direct_dx_fits(shape) && shape.out_c % detail::Simd<float>::kLanes == 0;
  if (!direct_dw_) col_.resize(chunk * pixels * shape.patch());
  if (direct_dx_) {
    setup_direct_dx();
  } else {
    if (padded.copy && need_dx) dxp_.resize(chunk * padded.image);
    if (need_dx) dcol_.resize(chunk * pixels * shape.patch());
  }
}

// dx[i] = sum over taps t and output channels o of dy[i + pad - t] * kernel[t][., o]: with stride 1
// a correlation of dy padded by span - 1 - pad with the flipped kernel, which is "same" padding
// again exactly when the spans are odd (the same pad before and after).
template <typename T>
bool Conv2D<T>::direct_dx_fits(const ConvShape& s) {
  return s.stride_h == 1 && s.stride_w == 1 && s.padding == Padding::same && s.span_h() % 2 == 1 &&
         s.span_w() % 2 == 1;
}

template <typename T>
void Conv2D<T>::setup_direct_dx() {
  const ConvShape& s = shape_;
  dx_shape_ = ConvShape{s.out_h(), s.out_w(), s.out_c, s.in_c, s.kernel_h, s.kernel_w, 1, 1, Padding::same,
                        s.dilation_h, s.dilation_w};
  const PaddedInput g(dx_shape_);
  for (int ih = 0; ih < dx_shape_.out_h(); ++ih)
    for (int iw = 0; iw < dx_shape_.out_w(); ++iw) dx_bases_.push_back(g.base(ih, iw));
  const std::size_t cp = detail::padded_channels<T>(s.in_c);
  flipped_.resize(dx_shape_.patch() * std::size_t(s.in_c));
  dx_packed_.resize(dx_shape_.patch() * cp);
  if (g.copy) dyp_.resize(g.image);
  if (cp != std::size_t(s.in_c)) dz_.resize(dx_bases_.size() * cp);
}

// flipped_ (kh', kw', o, i) = kernel (kernel_h - 1 - kh', kernel_w - 1 - kw', i, o), then packed.
template <typename T>
void Conv2D<T>::flip_kernel() {
  const ConvShape& s = shape_;
  const std::size_t taps = std::size_t(s.kernel_h) * s.kernel_w;
  for (std::size_t t = 0; t < taps; ++t) {
    T* to = flipped_.data() + (taps - 1 - t) * s.out_c * s.in_c;  // (out_c, in_c)
    const T* from = w_.kernel + t * s.in_c * s.out_c;                // (in_c, out_c)
    for (int i = 0; i < s.in_c; ++i)
      for (int o = 0; o < s.out_c; ++o) to[std::size_t(o) * s.in_c + i] = from[std::size_t(i) * s.out_c + o];
  }
  detail::pack_kernel(flipped_.data(), dx_shape_.patch(), s.in_c, detail::padded_channels<T>(s.in_c),
                      dx_packed_.data());
}

// dx (n, in_h, in_w, in_c) = the direct convolution of dy (n, out_h, out_w, out_c) by the flipped
// kernel (flip_kernel first), image by image.
template <typename T>
void Conv2D<T>::direct_dinput(const T* dy, T* dx, int n) {
  const ConvShape& s = shape_;
  const PaddedInput g(dx_shape_);
  const std::size_t cp = detail::padded_channels<T>(s.in_c);
  for (int img = 0; img < n; ++img) {
    const T* di = dy + img * s.out_size();
    if (g.copy) {
      detail::pad_images(g, di, dyp_.data(), 1);
      di = dyp_.data();
    }
    T* xi = dx + img * s.in_size();
    T* z = dz_.empty() ? xi : dz_.data();
    detail::conv_pixels(g, di, dx_bases_.data(), dx_bases_.size(), dx_packed_.data(), cp, z);
    if (!dz_.empty()) add_bias_activation(z, cp, static_cast<const T*>(nullptr), false, dx_bases_.size(), s.in_c, xi);
  }
}

template <typename T>
Conv2D<T>::~Conv2D() = default;

template <typename T>
void Conv2D<T>::forward(const T* x, T* y, int n, const DropoutContext*) {
  if (n < 0 || n > max_batch_) throw std::invalid_argument("Conv2D::forward: n > max_batch");
  const ConvShape& s = shape_;
  if (winograd_) {
    winograd_->forward(x, w_.kernel, w_.bias, relu_, y, n);
    return;
  }
  const PaddedInput g(s);
  const std::size_t cp = detail::padded_channels<T>(s.out_c);
  detail::pack_kernel(w_.kernel, s.patch(), s.out_c, cp, packed_.data());
  for (int img = 0; img < n; ++img) {
    const T* xi = x + img * s.in_size();
    if (g.copy) {
      detail::pad_images(g, xi, xp_.data(), 1);
      xi = xp_.data();
    }
    T* yi = y + img * s.out_size();
    T* z = z_.empty() ? yi : z_.data();
    detail::conv_pixels(g, xi, bases_.data(), bases_.size(), packed_.data(), cp, z);
    add_bias_activation(z, cp, w_.bias, relu_, bases_.size(), s.out_c, yi);
  }
}

template <typename T>
void Conv2D<T>::backward(const T* x, const T* y, T* dy, T* dx, int n) {
  if (n < 0 || n > max_batch_) throw std::invalid_argument("Conv2D::backward: n > max_batch");
  if (dx != nullptr && !need_dx_) throw std::invalid_argument("Conv2D::backward: built without need_dx");
  const ConvShape& s = shape_;
  // dy masked by the ReLU and the bias gradient summed, row after row (one order for both paths).
  if (w_.dbias != nullptr) {
    detail::mask_and_sum_columns(y, dy, std::size_t(n) * s.out_h() * s.out_w(), s.out_c, relu_, w_.dbias);
  } else if (relu_) {
    relu_mask(y, dy, std::size_t(n) * s.out_size());
  }
  if (winograd_) {
    winograd_->backward(x, w_.kernel, dy, dx, w_.dkernel, n);
    return;
  }
  const PaddedInput g(s);
  const int chunk = detail::gemm_chunk_images(bases_.size(), s.patch());
  if (direct_dx_ && dx != nullptr) flip_kernel();
  for (int i0 = 0; i0 < n; i0 += chunk) {
    const int nc = std::min(chunk, n - i0);
    T* dyc = dy + i0 * s.out_size();
    const T* xp = x + i0 * s.in_size();
    if (g.copy) {
      detail::pad_images(g, xp, xp_.data(), nc);
      xp = xp_.data();
    }
    if (direct_dx_ && dx != nullptr) direct_dinput(dyc, dx + i0 * s.in_size(), nc);
    T* dxp = dx == nullptr || direct_dx_ ? nullptr : g.copy ? dxp_.data() : dx + i0 * s.in_size();
    if (dxp != nullptr) std::fill(dxp, dxp + nc * g.image, T(0));
    if (direct_dw_) {
      for (int img = 0; img < nc; ++img)
        detail::conv_direct_dkernel(g, bases_.data(), bases_.size(), xp + img * g.image, dyc + img * s.out_size(),
                                    w_.dkernel);
    } else {
      detail::conv_gemm_dkernel(g, bases_, xp, dyc, s.out_c, col_.data(), w_.dkernel, nc);
    }
    if (dxp != nullptr) detail::conv_gemm_dinput(g, bases_, w_.kernel, dyc, s.out_c, dcol_.data(), dxp, nc);
    if (dxp != nullptr && g.copy) detail::unpad_images(g, dxp, dx + i0 * s.in_size(), nc);
  }
}

template class Conv2D<float>;
template class Conv2D<double>;

}  // namespace fmnist
