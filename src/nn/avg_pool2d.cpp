// AveragePooling2D with any window, stride and padding, NHWC. Each window divides by the number
// of real pixels it covers, as TensorFlow does for "same" padding (for "valid" that is the whole
// window), so backward spreads dy / count over the same pixels.
#include <algorithm>
#include <stdexcept>

#include "fmnist/layers.hpp"

namespace fmnist {
namespace {

// Calls visit(y_offset, h_lo, h_hi, w_lo, w_hi) for every output pixel of one image: the rows
// [h_lo, h_hi) and columns [w_lo, w_hi) of the input its window covers.
template <typename Visit>
void for_each_window(const ConvShape& s, Visit&& visit) {
  std::size_t at = 0;
  for (int oh = 0; oh < s.out_h(); ++oh) {
    const int h0 = oh * s.stride_h - s.pad_top();
    const int h_lo = std::max(h0, 0), h_hi = std::min(h0 + s.kernel_h, s.in_h);
    for (int ow = 0; ow < s.out_w(); ++ow, at += std::size_t(s.in_c)) {
      const int w0 = ow * s.stride_w - s.pad_left();
      visit(at, h_lo, h_hi, std::max(w0, 0), std::min(w0 + s.kernel_w, s.in_w));
    }
  }
}

}  // namespace

template <typename T>
AvgPool2D<T>::AvgPool2D(ConvShape shape) : shape_(shape) {
  if (shape.in_c < 1 || shape.out_c != shape.in_c || shape.out_h() < 1 || shape.out_w() < 1) {
    throw std::invalid_argument("AvgPool2D: bad shape");
  }
}

template <typename T>
void AvgPool2D<T>::forward(const T* x, T* y, int n, const DropoutContext*) {
  const ConvShape& s = shape_;
  const int c_n = s.in_c;
  for (int img = 0; img < n; ++img) {
    const T* xi = x + img * s.in_size();
    T* yi = y + img * s.out_size();
    for_each_window(s, [&](std::size_t at, int h_lo, int h_hi, int w_lo, int w_hi) {
      T* out = yi + at;
      std::fill(out, out + c_n, T(0));
      for (int h = h_lo; h < h_hi; ++h)
        for (int w = w_lo; w < w_hi; ++w) {
          const T* p = xi + (std::size_t(h) * s.in_w + w) * c_n;
          for (int c = 0; c < c_n; ++c) out[c] += p[c];
        }
      const T inv = T(1) / T((h_hi - h_lo) * (w_hi - w_lo));
      for (int c = 0; c < c_n; ++c) out[c] *= inv;
    });
  }
}

template <typename T>
void AvgPool2D<T>::backward(const T*, const T*, T* dy, T* dx, int n) {
  if (dx == nullptr) return;
  const ConvShape& s = shape_;
  const int c_n = s.in_c;
  std::fill(dx, dx + n * s.in_size(), T(0));
  for (int img = 0; img < n; ++img) {
    T* dxi = dx + img * s.in_size();
    const T* dyi = dy + img * s.out_size();
    for_each_window(s, [&](std::size_t at, int h_lo, int h_hi, int w_lo, int w_hi) {
      const T inv = T(1) / T((h_hi - h_lo) * (w_hi - w_lo));
      for (int h = h_lo; h < h_hi; ++h)
        for (int w = w_lo; w < w_hi; ++w) {
          T* d = dxi + (std::size_t(h) * s.in_w + w) * c_n;
          for (int c = 0; c < c_n; ++c) d[c] += dyi[at + c] * inv;
        }
    });
  }
}

template class AvgPool2D<float>;
template class AvgPool2D<double>;

}  // namespace fmnist
