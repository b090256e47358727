// SeparableConv2D, NHWC: the depthwise step (DepthwiseConv2D without bias, linear) into z_, then the
// pointwise 1x1 convolution, which is a GEMM over all the batch's pixels (Eigen, as Dense): y = act(z .
// pointwise + bias). Backward: dy masked by the ReLU, the bias gradient, dpointwise += z^T . dy,
// dz = dy . pointwise^T, then the depthwise step's backward.
#include "eigen_views.hpp"  // first: it includes the intrinsics headers

#include <stdexcept>

#include "bias_activation.hpp"
#include "fmnist/layers.hpp"

namespace fmnist {

using detail::ConstMapRM;
using detail::MapRM;

namespace {

// The depthwise step's shape: in_c * depth_multiplier output channels.
ConvShape depthwise_shape(ConvShape s, int depth_multiplier) {
  s.out_c = s.in_c * depth_multiplier;
  return s;
}

}  // namespace

template <typename T>
SeparableConv2D<T>::SeparableConv2D(ConvShape shape, int depth_multiplier, Activation activation, int max_batch,
                                    bool need_dx, const T* depthwise, const T* pointwise, const T* bias, T* ddepthwise,
                                    T* dpointwise, T* dbias)
    : shape_(shape),
      mid_(shape.in_c * depth_multiplier),
      relu_(activation == Activation::relu),
      max_batch_(max_batch),
      pointwise_(pointwise),
      bias_(bias),
      dpointwise_(dpointwise),
      dbias_(dbias),
      depthwise_(depthwise_shape(shape, depth_multiplier), depth_multiplier, Activation::linear, max_batch, need_dx,
                 depthwise, nullptr, ddepthwise, nullptr) {
  if (shape.out_c < 1 || activation == Activation::softmax || (bias == nullptr) != (dbias == nullptr))
    throw std::invalid_argument("SeparableConv2D: bad filters or activation");
  const std::size_t size = std::size_t(max_batch) * shape.out_h() * shape.out_w() * mid_;
  z_.resize(size);
  dz_.resize(size);
}

template <typename T>
void SeparableConv2D<T>::forward(const T* x, T* y, int n, const DropoutContext*) {
  if (n < 0 || n > max_batch_) throw std::invalid_argument("SeparableConv2D::forward: n > max_batch");
  if (n == 0) return;
  const ConvShape& s = shape_;
  const std::size_t rows = std::size_t(n) * s.out_h() * s.out_w();
  depthwise_.forward(x, z_.data(), n);
  MapRM<T>(y, rows, s.out_c).noalias() = ConstMapRM<T>(z_.data(), rows, mid_) * ConstMapRM<T>(pointwise_, mid_, s.out_c);
  detail::add_bias_activation(y, std::size_t(s.out_c), bias_, relu_, rows, s.out_c, y);
}

template <typename T>
void SeparableConv2D<T>::backward(const T* x, const T* y, T* dy, T* dx, int n) {
  if (n < 0 || n > max_batch_) throw std::invalid_argument("SeparableConv2D::backward: n > max_batch");
  if (n == 0) return;
  const ConvShape& s = shape_;
  const std::size_t rows = std::size_t(n) * s.out_h() * s.out_w();
  if (relu_) detail::relu_mask(y, dy, rows * s.out_c);
  if (dbias_ != nullptr) detail::add_column_sums(dy, rows, s.out_c, dbias_);
  const ConstMapRM<T> dym(dy, rows, s.out_c);
  MapRM<T>(dpointwise_, mid_, s.out_c).noalias() += ConstMapRM<T>(z_.data(), rows, mid_).transpose() * dym;
  MapRM<T>(dz_.data(), rows, mid_).noalias() = dym * ConstMapRM<T>(pointwise_, mid_, s.out_c).transpose();
  depthwise_.backward(x, z_.data(), dz_.data(), dx, n);
}

template class SeparableConv2D<float>;
template class SeparableConv2D<double>;

}  // namespace fmnist
