// The elementwise functions of Keras's activations and activation layers (docs/models.md:
// Activations): one functor per function with its value and its derivative, dispatched once per
// call so that each loop is a plain loop over the values. Formulas from Keras 3's
// keras/src/activations/activations.py and keras/src/backend/tensorflow/nn.py, tf_keras's
// tf_keras/backend.py (relu, elu, hard_sigmoid) and TensorFlow's tf.nn ops they call.
#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>

#include "fmnist/layers.hpp"

namespace fmnist {
namespace {

using Kind = ElementwiseFn::Kind;

template <typename T>
T sigmoid_of(T x) {  // without overflow on either side
  return x >= T(0) ? T(1) / (T(1) + std::exp(-x)) : std::exp(x) / (T(1) + std::exp(x));
}

// Keras's relu(x, negative_slope, max_value, threshold) (keras/src/activations/activations.py
// ReLU.static_call; tf_keras/backend.py relu): x * (x > threshold), clipped to [0, max_value],
// minus negative_slope * relu(threshold - x). For threshold >= 0 (the layers' check) that is
// x > t ? min(x, max) : slope * (x - t); relu6 is max 6, leaky_relu the slope alone.
template <typename T>
struct ReluFn {
  T slope, ceiling, threshold;
  T value(T x) const { return x > threshold ? std::min(x, ceiling) : slope * (x - threshold); }
  T derivative(T x, T) const { return x > threshold ? (x < ceiling ? T(1) : T(0)) : slope; }
};

// elu(x, alpha): tf.nn.elu(x) where x > 0, else alpha times it (keras/src/backend/tensorflow/nn.py).
template <typename T>
struct EluFn {
  T alpha;
  T value(T x) const { return x > T(0) ? x : alpha * std::expm1(x); }
  T derivative(T x, T) const { return x > T(0) ? T(1) : alpha * std::exp(x); }
};

// tf.nn.selu (tensorflow/core/kernels/selu_op.h): scale * x, or scale * alpha * (exp(x) - 1) below 0.
template <typename T>
struct SeluFn {
  static constexpr T scale = T(1.0507009873554804934193349852946);
  static constexpr T scale_alpha = T(1.7580993408473768599402175208123);  // scale * 1.6732632423543772848
  T value(T x) const { return x < T(0) ? scale_alpha * std::expm1(x) : scale * x; }
  T derivative(T x, T) const { return x < T(0) ? scale_alpha * std::exp(x) : scale; }
};

// tf.nn.gelu(approximate=False): 0.5 x (1 + erf(x / sqrt(2))); Keras's default in both lines.
template <typename T>
struct GeluFn {
  T value(T x) const { return T(0.5) * x * (T(1) + std::erf(x * T(std::numbers::sqrt2 / 2))); }
  T derivative(T x, T) const {
    const T density = std::exp(T(-0.5) * x * x) * T(0.5 * std::numbers::inv_sqrtpi * std::numbers::sqrt2);
    return T(0.5) * (T(1) + std::erf(x * T(std::numbers::sqrt2 / 2))) + x * density;
  }
};

// tf.nn.gelu(approximate=True): 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))).
template <typename T>
struct GeluTanhFn {
  static constexpr T c = T(0.7978845608028654);  // sqrt(2 / pi)
  static constexpr T k = T(0.044715);
  T value(T x) const { return T(0.5) * x * (T(1) + std::tanh(c * (x + k * x * x * x))); }
  T derivative(T x, T) const {
    const T t = std::tanh(c * (x + k * x * x * x));
    return T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * c * (T(1) + T(3) * k * x * x);
  }
};

template <typename T>
struct SwishFn {  // tf.nn.silu: x * sigmoid(x)
  T value(T x) const { return x * sigmoid_of(x); }
  T derivative(T x, T) const {
    const T s = sigmoid_of(x);
    return s + x * s * (T(1) - s);
  }
};

template <typename T>
struct SigmoidFn {
  T value(T x) const { return sigmoid_of(x); }
  T derivative(T, T y) const { return y * (T(1) - y); }
};

template <typename T>
struct TanhFn {
  T value(T x) const { return std::tanh(x); }
  T derivative(T, T y) const { return T(1) - y * y; }
};

template <typename T>
struct SoftplusFn {  // log(1 + exp(x)), as max(x, 0) + log1p(exp(-|x|)) so that nothing overflows
  T value(T x) const { return std::max(x, T(0)) + std::log1p(std::exp(-std::abs(x))); }
  T derivative(T x, T) const { return sigmoid_of(x); }
};

template <typename T>
struct SoftsignFn {
  T value(T x) const { return x / (T(1) + std::abs(x)); }
  T derivative(T x, T) const {
    const T d = T(1) + std::abs(x);
    return T(1) / (d * d);
  }
};

// Keras 2 (tf_keras/backend.py hard_sigmoid): clip(0.2 x + 0.5, 0, 1).
template <typename T>
struct HardSigmoidFn {
  T value(T x) const { return std::clamp(x * T(0.2) + T(0.5), T(0), T(1)); }
  T derivative(T x, T) const { return x > T(-2.5) && x < T(2.5) ? T(0.2) : T(0); }
};

// Keras 3 (keras/src/backend/tensorflow/nn.py hard_sigmoid): relu6(x + 3) / 6.
template <typename T>
struct HardSigmoidRelu6Fn {
  T value(T x) const { return std::clamp(x + T(3), T(0), T(6)) / T(6); }
  T derivative(T x, T) const { return x > T(-3) && x < T(3) ? T(1) / T(6) : T(0); }
};

template <typename T>
struct ExponentialFn {
  T value(T x) const { return std::exp(x); }
  T derivative(T, T y) const { return y; }
};

// Calls visit with the functor of fn, once: the caller's loop then runs on one concrete type.
template <typename T, typename Visit>
void dispatch(const ElementwiseFn& fn, Visit&& visit) {
  switch (fn.kind) {
    case Kind::relu: return visit(ReluFn<T>{T(fn.slope), T(fn.ceiling), T(fn.threshold)});
    case Kind::elu: return visit(EluFn<T>{T(fn.alpha)});
    case Kind::selu: return visit(SeluFn<T>{});
    case Kind::gelu: return visit(GeluFn<T>{});
    case Kind::gelu_tanh: return visit(GeluTanhFn<T>{});
    case Kind::swish: return visit(SwishFn<T>{});
    case Kind::sigmoid: return visit(SigmoidFn<T>{});
    case Kind::tanh: return visit(TanhFn<T>{});
    case Kind::softplus: return visit(SoftplusFn<T>{});
    case Kind::softsign: return visit(SoftsignFn<T>{});
    case Kind::hard_sigmoid: return visit(HardSigmoidFn<T>{});
    case Kind::hard_sigmoid_relu6: return visit(HardSigmoidRelu6Fn<T>{});
    case Kind::exponential: return visit(ExponentialFn<T>{});
  }
  throw std::invalid_argument("Elementwise: unknown function");
}

}  // namespace

template <typename T>
Elementwise<T>::Elementwise(ElementwiseFn fn, std::size_t size) : fn_(fn), size_(size) {}

template <typename T>
void Elementwise<T>::forward(const T* x, T* y, int n, const DropoutContext*) {
  const std::size_t count = std::size_t(n) * size_;
  dispatch<T>(fn_, [&](const auto f) {
    for (std::size_t i = 0; i < count; ++i) y[i] = f.value(x[i]);
  });
}

template <typename T>
void Elementwise<T>::backward(const T* x, const T* y, T* dy, T* dx, int n) {
  if (dx == nullptr) return;
  const std::size_t count = std::size_t(n) * size_;
  dispatch<T>(fn_, [&](const auto f) {
    for (std::size_t i = 0; i < count; ++i) dx[i] = dy[i] * f.derivative(x[i], y[i]);
  });
}

template <typename T>
Activated<T>::Activated(std::unique_ptr<Layer<T>> inner, ElementwiseFn fn, std::size_t size, int max_batch)
    : inner_(std::move(inner)), fn_(fn, size), max_batch_(max_batch), z_(std::size_t(max_batch) * size) {
  if (inner_ == nullptr || max_batch < 1) throw std::invalid_argument("Activated: no inner layer or max_batch < 1");
}

template <typename T>
void Activated<T>::forward(const T* x, T* y, int n, const DropoutContext* train) {
  if (n < 0 || n > max_batch_) throw std::invalid_argument("Activated::forward: n > max_batch");
  inner_->forward(x, z_.data(), n, train);
  fn_.forward(z_.data(), y, n);
}

template <typename T>
void Activated<T>::backward(const T* x, const T* y, T* dy, T* dx, int n) {
  fn_.backward(z_.data(), y, dy, dy, n);  // dy becomes dL/dz
  inner_->backward(x, z_.data(), dy, dx, n);
}

template class Elementwise<float>;
template class Elementwise<double>;
template class Activated<float>;
template class Activated<double>;

}  // namespace fmnist
