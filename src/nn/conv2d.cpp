// Conv2D with any kernel, stride and padding, NHWC: the im2col + Eigen GEMM path of im2col.hpp
// over every output pixel, then bias and relu (or linear); backward masks dy by the ReLU and
// sums the bias gradient. The generic path for every convolution the fused Conv2DPool does not take.
#include "eigen_views.hpp"  // first: it includes the intrinsics headers

#include <algorithm>
#include <stdexcept>

#include "fmnist/layers.hpp"
#include "im2col.hpp"

namespace fmnist {
namespace {

using detail::chunk_images;
using detail::conv_gemm_backward;
using detail::conv_gemm_forward;

// y (rows, out_c) = act(y + bias); bias may be null.
template <typename T>
void add_bias_activation(T* y, const T* bias, bool relu, std::size_t rows, int out_c) {
  for (std::size_t r = 0; r < rows; ++r, y += out_c) {
    if (bias != nullptr) {
      for (int c = 0; c < out_c; ++c) y[c] += bias[c];
    }
    if (relu) {
      for (int c = 0; c < out_c; ++c) y[c] = std::max(y[c], T(0));
    }
  }
}

// dy (count) *= (y > 0).
template <typename T>
void relu_mask(const T* y, T* dy, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) dy[i] = y[i] > T(0) ? dy[i] : T(0);
}

}  // namespace

template <typename T>
Conv2D<T>::Conv2D(ConvShape shape, Activation activation, int max_batch, bool need_dx, const T* kernel,
                  const T* bias, T* dkernel, T* dbias)
    : shape_(shape),
      relu_(activation == Activation::relu),
      max_batch_(max_batch),
      need_dx_(need_dx),
      kernel_(kernel),
      bias_(bias),
      dkernel_(dkernel),
      dbias_(dbias) {
  if (shape.in_c < 1 || shape.out_c < 1 || shape.out_h() < 1 || shape.out_w() < 1 || max_batch < 1 ||
      activation == Activation::softmax || (bias == nullptr) != (dbias == nullptr)) {
    throw std::invalid_argument("Conv2D: bad shape, activation or max_batch");
  }
  const std::size_t rows = std::size_t(shape.out_h()) * shape.out_w();
  const std::size_t chunk_rows = std::min(max_batch, chunk_images(rows)) * rows;
  pixels_ = detail::pixels_row_major(shape);
  col_.resize(chunk_rows * shape.patch());
  if (need_dx) dcol_.resize(chunk_rows * shape.patch());
}

template <typename T>
void Conv2D<T>::forward(const T* x, T* y, int n, const DropoutContext*) {
  if (n < 0 || n > max_batch_) throw std::invalid_argument("Conv2D::forward: n > max_batch");
  const ConvShape& s = shape_;
  const int chunk = chunk_images(pixels_.size());
  for (int i0 = 0; i0 < n; i0 += chunk) {
    const int nc = std::min(chunk, n - i0);
    T* yc = y + i0 * s.out_size();
    conv_gemm_forward(s, pixels_, x + i0 * s.in_size(), kernel_, col_.data(), yc, nc);
    add_bias_activation(yc, bias_, relu_, std::size_t(nc) * pixels_.size(), s.out_c);
  }
}

template <typename T>
void Conv2D<T>::backward(const T* x, const T* y, T* dy, T* dx, int n) {
  if (n < 0 || n > max_batch_) throw std::invalid_argument("Conv2D::backward: n > max_batch");
  if (dx != nullptr && !need_dx_) throw std::invalid_argument("Conv2D::backward: built without need_dx");
  const ConvShape& s = shape_;
  const int chunk = chunk_images(pixels_.size());
  for (int i0 = 0; i0 < n; i0 += chunk) {
    const int nc = std::min(chunk, n - i0);
    T* dyc = dy + i0 * s.out_size();
    if (relu_) relu_mask(y + i0 * s.out_size(), dyc, nc * s.out_size());
    if (dbias_ != nullptr) detail::add_column_sums(dyc, nc * pixels_.size(), s.out_c, dbias_);
    conv_gemm_backward(s, pixels_, x + i0 * s.in_size(), kernel_, dyc, col_.data(), dcol_.data(), dkernel_,
                       dx != nullptr ? dx + i0 * s.in_size() : nullptr, nc);
  }
}

template class Conv2D<float>;
template class Conv2D<double>;

}  // namespace fmnist
