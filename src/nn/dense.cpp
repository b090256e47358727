// Dense (fully connected) layer y = x . W [+ b] with relu or linear fused; the three GEMMs of
// forward and backward are Eigen expressions over row-major views of the arenas.
#include "eigen_views.hpp"  // first: it includes the intrinsics headers

#include <algorithm>
#include <stdexcept>

#include "fmnist/layers.hpp"

namespace fmnist {

using detail::ConstMapRM;
using detail::ConstMapRow;
using detail::MapRM;

template <typename T>
Dense<T>::Dense(int in, int out, Activation activation, const T* kernel, const T* bias, T* dkernel, T* dbias)
    : in_(in),
      out_(out),
      relu_(activation == Activation::relu),
      w_{kernel, bias, dkernel, dbias} {
  if (in < 1 || out < 1 || activation == Activation::softmax || (bias == nullptr) != (dbias == nullptr))
    throw std::invalid_argument("Dense: bad shape or activation");
}

template <typename T>
void Dense<T>::forward(const T* x, T* y, int n, const DropoutContext*) {
  if (n <= 0) return;
  MapRM<T> ym(y, n, out_);
  ym.noalias() = ConstMapRM<T>(x, n, in_) * ConstMapRM<T>(w_.kernel, in_, out_);
  if (w_.bias != nullptr) ym.rowwise() += ConstMapRow<T>(w_.bias, out_);
  if (relu_) ym = ym.cwiseMax(T(0));
}

template <typename T>
void Dense<T>::backward(const T* x, const T* y, T* dy, T* dx, int n) {
  if (n <= 0) return;
  MapRM<T> dym(dy, n, out_);
  if (relu_) {
    const ConstMapRM<T> ym(y, n, out_);
    dym = (ym.array() > T(0)).select(dym, T(0));
  }
  if (w_.dbias != nullptr) detail::add_column_sums(dy, std::size_t(n), out_, w_.dbias);
  MapRM<T>(w_.dkernel, in_, out_).noalias() += ConstMapRM<T>(x, n, in_).transpose() * dym;
  if (dx != nullptr) {
    MapRM<T>(dx, n, in_).noalias() = dym * ConstMapRM<T>(w_.kernel, in_, out_).transpose();
  }
}

template class Dense<float>;
template class Dense<double>;

}  // namespace fmnist
