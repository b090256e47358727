// GlobalAveragePooling2D and GlobalMaxPooling2D, NHWC: each channel's mean or max over all the
// pixels of an image (Keras: ops.mean / ops.max over axes 1 and 2). The loops run over the pixels
// with the channels innermost, so each pixel's row of channels is one vector step.
#include <algorithm>
#include <stdexcept>

#include "fmnist/layers.hpp"

namespace fmnist {

template <typename T>
GlobalPool2D<T>::GlobalPool2D(int h, int w, int c, bool max, int max_batch)
    : pixels_(h * w), c_(c), max_(max), max_batch_(max_batch) {
  if (h < 1 || w < 1 || c < 1 || max_batch < 1) throw std::invalid_argument("GlobalPool2D: bad shape or max_batch");
  if (max) argmax_.resize(std::size_t(max_batch) * std::size_t(c));
}

template <typename T>
void GlobalPool2D<T>::forward(const T* x, T* y, int n, const DropoutContext*) {
  if (n < 0 || n > max_batch_) throw std::invalid_argument("GlobalPool2D::forward: n > max_batch");
  const std::size_t c_n = std::size_t(c_);
  for (int img = 0; img < n; ++img, y += c_n) {
    const T* xi = x + std::size_t(img) * std::size_t(pixels_) * c_n;  // (h * w, c)
    std::copy(xi, xi + c_n, y);
    if (max_) {
      std::uint32_t* arg = argmax_.data() + std::size_t(img) * c_n;
      std::fill(arg, arg + c_n, 0u);
      for (int p = 1; p < pixels_; ++p) {
        const T* row = xi + std::size_t(p) * c_n;
        for (std::size_t c = 0; c < c_n; ++c) {
          if (row[c] > y[c]) y[c] = row[c], arg[c] = std::uint32_t(p);
        }
      }
    } else {
      for (int p = 1; p < pixels_; ++p) {
        const T* row = xi + std::size_t(p) * c_n;
        for (std::size_t c = 0; c < c_n; ++c) y[c] += row[c];
      }
      const T inv = T(1) / T(pixels_);
      for (std::size_t c = 0; c < c_n; ++c) y[c] *= inv;
    }
  }
}

template <typename T>
void GlobalPool2D<T>::backward(const T*, const T*, T* dy, T* dx, int n) {
  if (n < 0 || n > max_batch_) throw std::invalid_argument("GlobalPool2D::backward: n > max_batch");
  if (dx == nullptr) return;
  const std::size_t c_n = std::size_t(c_), image = std::size_t(pixels_) * c_n;
  for (int img = 0; img < n; ++img, dy += c_n) {
    T* dxi = dx + std::size_t(img) * image;  // (h * w, c)
    if (max_) {
      std::fill(dxi, dxi + image, T(0));
      const std::uint32_t* arg = argmax_.data() + std::size_t(img) * c_n;
      for (std::size_t c = 0; c < c_n; ++c) dxi[std::size_t(arg[c]) * c_n + c] = dy[c];
    } else {
      const T inv = T(1) / T(pixels_);
      for (int p = 0; p < pixels_; ++p) {
        T* row = dxi + std::size_t(p) * c_n;
        for (std::size_t c = 0; c < c_n; ++c) row[c] = dy[c] * inv;
      }
    }
  }
}

template class GlobalPool2D<float>;
template class GlobalPool2D<double>;

}  // namespace fmnist
