// ZeroPadding2D, NHWC: each image copied into the middle of a zeroed larger one (Keras: ops.pad
// with ((0, 0), (top, bottom), (left, right), (0, 0))); backward takes the middle back out.
#include <algorithm>
#include <stdexcept>

#include "fmnist/layers.hpp"

namespace fmnist {

template <typename T>
ZeroPad2D<T>::ZeroPad2D(int h, int w, int c, std::array<int, 4> pads) : h_(h), w_(w), c_(c), pads_(pads) {
  if (h < 1 || w < 1 || c < 1 || std::any_of(pads.begin(), pads.end(), [](int p) { return p < 0; }))
    throw std::invalid_argument("ZeroPad2D: bad shape or padding");
}

template <typename T>
void ZeroPad2D<T>::forward(const T* x, T* y, int n, const DropoutContext*) {
  const std::size_t row = std::size_t(w_) * c_, out_row = std::size_t(out_w()) * c_;
  const std::size_t left = std::size_t(pads_[2]) * c_;
  std::fill(y, y + std::size_t(n) * out_size(), T(0));
  for (int img = 0; img < n; ++img) {
    const T* xi = x + std::size_t(img) * h_ * row;                // (h, w, c)
    T* yi = y + std::size_t(img) * out_size() + pads_[0] * out_row;  // (top + h + bottom, left + w + right, c)
    for (int r = 0; r < h_; ++r) std::copy(xi + r * row, xi + (r + 1) * row, yi + r * out_row + left);
  }
}

template <typename T>
void ZeroPad2D<T>::backward(const T*, const T*, T* dy, T* dx, int n) {
  if (dx == nullptr) return;
  const std::size_t row = std::size_t(w_) * c_, out_row = std::size_t(out_w()) * c_;
  const std::size_t left = std::size_t(pads_[2]) * c_;
  for (int img = 0; img < n; ++img) {
    T* dxi = dx + std::size_t(img) * h_ * row;
    const T* dyi = dy + std::size_t(img) * out_size() + pads_[0] * out_row;
    for (int r = 0; r < h_; ++r) std::copy(dyi + r * out_row + left, dyi + r * out_row + left + row, dxi + r * row);
  }
}

template class ZeroPad2D<float>;
template class ZeroPad2D<double>;

}  // namespace fmnist
