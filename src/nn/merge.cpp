// The merge layers' kernels (Add, Subtract, Multiply, Average, Maximum, Minimum: Keras's
// element-wise _Merge layers; Concatenate on the last axis), each over its several inputs in the
// call's order, computed as Keras does: a running result from the first input on, the average
// divided once at the end, a tie of Maximum or Minimum won by the earliest input (TensorFlow's
// gradients of maximum and minimum go to the first argument on ties).
#include <algorithm>
#include <stdexcept>

#include "fmnist/layers.hpp"

namespace fmnist {

template <typename T>
ElementwiseMerge<T>::ElementwiseMerge(MergeOp op, std::size_t size, int inputs) : op_(op), size_(size), inputs_(inputs) {
  if (size < 1 || inputs < 1 || (op == MergeOp::subtract && inputs != 2))
    throw std::invalid_argument("ElementwiseMerge: bad size or number of inputs");
}

template <typename T>
void ElementwiseMerge<T>::forward_inputs(std::span<const T* const> x, T* y, int n, const DropoutContext*) {
  if (x.size() != std::size_t(inputs_)) throw std::invalid_argument("ElementwiseMerge::forward: wrong number of inputs");
  const std::size_t count = std::size_t(n) * size_;
  std::copy(x[0], x[0] + count, y);
  for (std::size_t k = 1; k < x.size(); ++k) {
    const T* xk = x[k];
    switch (op_) {
      case MergeOp::add:
      case MergeOp::average:
        for (std::size_t i = 0; i < count; ++i) y[i] += xk[i];
        break;
      case MergeOp::subtract:
        for (std::size_t i = 0; i < count; ++i) y[i] -= xk[i];
        break;
      case MergeOp::multiply:
        for (std::size_t i = 0; i < count; ++i) y[i] *= xk[i];
        break;
      case MergeOp::maximum:
        for (std::size_t i = 0; i < count; ++i) y[i] = std::max(y[i], xk[i]);
        break;
      case MergeOp::minimum:
        for (std::size_t i = 0; i < count; ++i) y[i] = std::min(y[i], xk[i]);
        break;
    }
  }
  if (op_ == MergeOp::average) {
    const T inputs = T(x.size());
    for (std::size_t i = 0; i < count; ++i) y[i] /= inputs;
  }
}

template <typename T>
void ElementwiseMerge<T>::backward_inputs(std::span<const T* const> x, const T* y, T* dy, std::span<T* const> dx,
                                          int n) {
  if (x.size() != std::size_t(inputs_) || dx.size() != x.size())
    throw std::invalid_argument("ElementwiseMerge::backward: wrong number of inputs");
  const std::size_t count = std::size_t(n) * size_;
  for (std::size_t k = 0; k < dx.size(); ++k) {
    T* d = dx[k];
    if (d == nullptr) continue;
    switch (op_) {
      case MergeOp::add:
        std::copy(dy, dy + count, d);
        break;
      case MergeOp::subtract:
        for (std::size_t i = 0; i < count; ++i) d[i] = k == 0 ? dy[i] : -dy[i];
        break;
      case MergeOp::average: {
        const T inputs = T(x.size());
        for (std::size_t i = 0; i < count; ++i) d[i] = dy[i] / inputs;
        break;
      }
      case MergeOp::multiply:
        for (std::size_t i = 0; i < count; ++i) {
          T g = dy[i];
          for (std::size_t j = 0; j < x.size(); ++j) g = j == k ? g : g * x[j][i];
          d[i] = g;
        }
        break;
      case MergeOp::maximum:
      case MergeOp::minimum:
        for (std::size_t i = 0; i < count; ++i) {
          std::size_t winner = 0;
          while (winner + 1 < x.size() && x[winner][i] != y[i]) ++winner;  // the earliest input equal to y
          d[i] = winner == k ? dy[i] : T(0);
        }
        break;
    }
  }
}

template <typename T>
BackwardReads ElementwiseMerge<T>::backward_reads() const {
  const bool extreme = op_ == MergeOp::maximum || op_ == MergeOp::minimum;
  return {extreme || op_ == MergeOp::multiply, extreme};
}

template <typename T>
Concatenate<T>::Concatenate(std::vector<std::size_t> widths, std::size_t rows) : widths_(std::move(widths)), rows_(rows) {
  if (widths_.empty() || rows < 1 || std::find(widths_.begin(), widths_.end(), std::size_t{0}) != widths_.end())
    throw std::invalid_argument("Concatenate: bad widths or rows");
  for (std::size_t w : widths_) width_ += w;
}

template <typename T>
void Concatenate<T>::forward_inputs(std::span<const T* const> x, T* y, int n, const DropoutContext*) {
  if (x.size() != widths_.size()) throw std::invalid_argument("Concatenate::forward: wrong number of inputs");
  const std::size_t rows = std::size_t(n) * rows_;
  for (std::size_t r = 0; r < rows; ++r) {
    T* out = y + r * width_;
    for (std::size_t k = 0; k < x.size(); ++k) out = std::copy(x[k] + r * widths_[k], x[k] + (r + 1) * widths_[k], out);
  }
}

template <typename T>
void Concatenate<T>::backward_inputs(std::span<const T* const> x, const T*, T* dy, std::span<T* const> dx, int n) {
  if (x.size() != widths_.size() || dx.size() != x.size())
    throw std::invalid_argument("Concatenate::backward: wrong number of inputs");
  const std::size_t rows = std::size_t(n) * rows_;
  std::size_t at = 0;  // the input's first column in a row of dy
  for (std::size_t k = 0; k < dx.size(); at += widths_[k], ++k) {
    if (dx[k] == nullptr) continue;
    for (std::size_t r = 0; r < rows; ++r)
      std::copy(dy + r * width_ + at, dy + r * width_ + at + widths_[k], dx[k] + r * widths_[k]);
  }
}

template class ElementwiseMerge<float>;
template class ElementwiseMerge<double>;
template class Concatenate<float>;
template class Concatenate<double>;

}  // namespace fmnist
