// MaxPooling2D 2x2 stride 2 (valid, floor), NHWC. Forward records, per output value, which of
// the four window positions held the max, so backward is a single pass that writes
// every input gradient exactly once: the routed dy or zero.
#include <algorithm>
#include <stdexcept>

#include "fmnist/layers.hpp"

namespace fmnist {
namespace {

// One window: y, arg (c) from the 2x2 window p00 p01 / p10 p11 (c each). The pointers are
// restrict-qualified so that the loop vectorizes, and arg has T's width so that a vector of
// arg matches a vector of T (a byte-wide arg made GCC pick 64 lanes, more than 32 channels).
template <typename T>
using PoolIndex = typename MaxPool2D<T>::Index;

template <typename T>
void pool_window(const T* __restrict p00, const T* __restrict p01, const T* __restrict p10,
                 const T* __restrict p11, T* __restrict y, PoolIndex<T>* __restrict arg, int c_n) {
  for (int c = 0; c < c_n; ++c) {
    T best = p00[c];
    PoolIndex<T> at = 0;
    if (p01[c] > best) best = p01[c], at = 1;
    if (p10[c] > best) best = p10[c], at = 2;
    if (p11[c] > best) best = p11[c], at = 3;
    y[c] = best;
    arg[c] = at;
  }
}

template <typename T>
void unpool_window(const T* __restrict dy, const PoolIndex<T>* __restrict arg, T* __restrict p00,
                   T* __restrict p01, T* __restrict p10, T* __restrict p11, int c_n) {
  for (int c = 0; c < c_n; ++c) {
    const T g = dy[c];
    const PoolIndex<T> at = arg[c];
    p00[c] = at == 0 ? g : T(0);
    p01[c] = at == 1 ? g : T(0);
    p10[c] = at == 2 ? g : T(0);
    p11[c] = at == 3 ? g : T(0);
  }
}

}  // namespace

template <typename T>
MaxPool2D<T>::MaxPool2D(int in_h, int in_w, int channels, int max_batch)
    : in_h_(in_h), in_w_(in_w), channels_(channels), max_batch_(max_batch) {
  if (in_h < 2 || in_w < 2 || channels < 1 || max_batch < 1) {
    throw std::invalid_argument("MaxPool2D: bad shape or max_batch");
  }
  argmax_.resize(std::size_t(max_batch) * out_h() * out_w() * channels);
}

template <typename T>
void MaxPool2D<T>::forward(const T* x, T* y, int n) {
  if (n < 0 || n > max_batch_) throw std::invalid_argument("MaxPool2D::forward: n > max_batch");
  const int c_n = channels_;
  const std::size_t row = std::size_t(in_w_) * c_n;
  Index* arg = argmax_.data();
  for (int img = 0; img < n; ++img) {
    const T* xi = x + std::size_t(img) * in_h_ * row;
    for (int ph = 0; ph < out_h(); ++ph) {
      for (int pw = 0; pw < out_w(); ++pw, y += c_n, arg += c_n) {
        const T* p00 = xi + 2 * ph * row + std::size_t(2 * pw) * c_n;
        pool_window(p00, p00 + c_n, p00 + row, p00 + row + c_n, y, arg, c_n);
      }
    }
  }
}

template <typename T>
void MaxPool2D<T>::backward(const T* dy, T* dx, int n) {
  if (n < 0 || n > max_batch_) throw std::invalid_argument("MaxPool2D::backward: n > max_batch");
  const int c_n = channels_;
  const std::size_t row = std::size_t(in_w_) * c_n;
  const Index* arg = argmax_.data();
  for (int img = 0; img < n; ++img) {
    T* dxi = dx + std::size_t(img) * in_h_ * row;
    for (int ph = 0; ph < out_h(); ++ph) {
      for (int pw = 0; pw < out_w(); ++pw, dy += c_n, arg += c_n) {
        T* p00 = dxi + 2 * ph * row + std::size_t(2 * pw) * c_n;
        unpool_window(dy, arg, p00, p00 + c_n, p00 + row, p00 + row + c_n, c_n);
      }
      if (in_w_ % 2 != 0) {  // the dropped last column of both window rows
        T* last = dxi + 2 * ph * row + std::size_t(in_w_ - 1) * c_n;
        std::fill(last, last + c_n, T(0));
        std::fill(last + row, last + row + c_n, T(0));
      }
    }
    if (in_h_ % 2 != 0) {  // the dropped last row
      T* last = dxi + std::size_t(in_h_ - 1) * row;
      std::fill(last, last + row, T(0));
    }
  }
}

template class MaxPool2D<float>;
template class MaxPool2D<double>;

}  // namespace fmnist
