// MaxPooling2D with any window, stride and padding, NHWC. Forward records, per output value, the
// pixel of the window that held the max (first in row-major window order on ties; "same" padding
// is never a candidate), so backward routes each dy to exactly that input.
#include <algorithm>
#include <stdexcept>

#include "fmnist/layers.hpp"

namespace fmnist {

template <typename T>
MaxPool2D<T>::MaxPool2D(ConvShape shape, int max_batch) : shape_(shape), max_batch_(max_batch) {
  if (shape.in_c < 1 || shape.out_c != shape.in_c || shape.out_h() < 1 || shape.out_w() < 1 || max_batch < 1) {
    throw std::invalid_argument("MaxPool2D: bad shape or max_batch");
  }
  argmax_.resize(std::size_t(max_batch) * shape.out_size());
}

template <typename T>
void MaxPool2D<T>::forward(const T* x, T* y, int n, const DropoutContext*) {
  if (n < 0 || n > max_batch_) throw std::invalid_argument("MaxPool2D::forward: n > max_batch");
  const ConvShape& s = shape_;
  const int c_n = s.in_c;
  std::uint32_t* arg = argmax_.data();
  for (int img = 0; img < n; ++img) {
    const T* xi = x + img * s.in_size();
    for (int oh = 0; oh < s.out_h(); ++oh) {
      const int h0 = oh * s.stride_h - s.pad_top();
      const int h_lo = std::max(h0, 0), h_hi = std::min(h0 + s.kernel_h, s.in_h);
      for (int ow = 0; ow < s.out_w(); ++ow, y += c_n, arg += c_n) {
        const int w0 = ow * s.stride_w - s.pad_left();
        const int w_lo = std::max(w0, 0), w_hi = std::min(w0 + s.kernel_w, s.in_w);
        const std::uint32_t first = std::uint32_t(h_lo * s.in_w + w_lo);
        std::copy(xi + first * c_n, xi + (first + 1) * c_n, y);
        std::fill(arg, arg + c_n, first);
        for (int h = h_lo; h < h_hi; ++h) {
          for (int w = (h == h_lo ? w_lo + 1 : w_lo); w < w_hi; ++w) {
            const std::uint32_t at = std::uint32_t(h * s.in_w + w);
            const T* p = xi + std::size_t(at) * c_n;
            for (int c = 0; c < c_n; ++c) {
              if (p[c] > y[c]) y[c] = p[c], arg[c] = at;
            }
          }
        }
      }
    }
  }
}

template <typename T>
void MaxPool2D<T>::backward(const T*, const T*, T* dy, T* dx, int n) {
  if (n < 0 || n > max_batch_) throw std::invalid_argument("MaxPool2D::backward: n > max_batch");
  if (dx == nullptr) return;
  const ConvShape& s = shape_;
  const int c_n = s.in_c;
  std::fill(dx, dx + n * s.in_size(), T(0));
  const std::uint32_t* arg = argmax_.data();
  const std::size_t outputs = std::size_t(s.out_h()) * s.out_w();
  for (int img = 0; img < n; ++img) {
    T* dxi = dx + img * s.in_size();
    for (std::size_t o = 0; o < outputs; ++o, dy += c_n, arg += c_n) {
      for (int c = 0; c < c_n; ++c) dxi[std::size_t(arg[c]) * c_n + c] += dy[c];
    }
  }
}

template class MaxPool2D<float>;
template class MaxPool2D<double>;

}  // namespace fmnist
