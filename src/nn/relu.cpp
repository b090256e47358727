// Activation('relu') as a layer of its own (Conv2D and Dense fuse their activation instead).
#include <algorithm>

#include "fmnist/layers.hpp"

namespace fmnist {

template <typename T>
Relu<T>::Relu(std::size_t size) : size_(size) {}

template <typename T>
void Relu<T>::forward(const T* x, T* y, int n, const DropoutContext*) {
  for (std::size_t i = 0, count = std::size_t(n) * size_; i < count; ++i) y[i] = std::max(x[i], T(0));
}

template <typename T>
void Relu<T>::backward(const T*, const T* y, T* dy, T* dx, int n) {
  if (dx == nullptr) return;
  for (std::size_t i = 0, count = std::size_t(n) * size_; i < count; ++i) dx[i] = y[i] > T(0) ? dy[i] : T(0);
}

template class Relu<float>;
template class Relu<double>;

}  // namespace fmnist
