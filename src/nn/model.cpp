// Model<T>: builds the layer list from the plan (fused Conv2DPool where the spec has a
// Conv2D -> MaxPooling2D pair, a generic layer elsewhere, no layer at all for Flatten,
// linear activations and the final softmax, whose outputs alias their inputs), owns the two
// arenas and every activation buffer, and runs forward, the loss and backward over them.
#include <cmath>
#include <numbers>
#include <random>
#include <stdexcept>

#include "fmnist/augment.hpp"
#include "fmnist/model.hpp"

namespace fmnist {
namespace {

ConvShape window_shape(const LayerPlan& lp, const LayerSpec& l) {
  ConvShape s;
  s.in_h = lp.input_shape[0];
  s.in_w = lp.input_shape[1];
  s.in_c = lp.input_shape[2];
  s.out_c = lp.output_shape[2];
  s.kernel_h = l.kernel[0];
  s.kernel_w = l.kernel[1];
  s.stride_h = l.strides[0];
  s.stride_w = l.strides[1];
  s.padding = l.padding;
  return s;
}

// The fused layer's pattern: a Conv2D followed by a MaxPooling2D (any geometry, either activation).
bool fuses_with_next(const ModelSpec& spec, std::size_t i) {
  return i + 1 < spec.layers.size() && spec.layers[i].kind == LayerKind::conv2d &&
         spec.layers[i + 1].kind == LayerKind::max_pooling2d;
}

std::size_t per_image(const std::vector<int>& shape) {
  std::size_t n = 1;
  for (int d : shape) n *= static_cast<std::size_t>(d);
  return n;
}

// Keras's fans of a kernel (kh, kw, in, out) or (in, out).
std::pair<double, double> fans(const std::vector<int>& shape) {
  double receptive = 1;
  for (std::size_t i = 0; i + 2 < shape.size(); ++i) receptive *= shape[i];
  return {receptive * shape[shape.size() - 2], receptive * shape.back()};
}

}  // namespace

template <typename T>
struct Model<T>::Impl {
  struct Op {
    std::unique_ptr<Layer<T>> layer;
    std::size_t in = 0, out = 0;  // activation buffers; 0 is the input x
  };

  Impl(const ModelSpec& spec, int n) : plan(plan_model(spec)), max_batch(n), params(plan.num_params), grads(plan.num_params) {
    buffers.emplace_back();  // 0: the input, held by the caller
    std::size_t current = 0, largest = 1;
    for (std::size_t i = 0; i < plan.layers.size(); ++i) {
      std::unique_ptr<Layer<T>> layer = make_layer(i);
      if (layer == nullptr) continue;  // a view: the output is the input
      if (fuses_with_next(plan.spec, i)) ++i;
      const std::size_t size = per_image(plan.layers[i].output_shape);
      buffers.emplace_back(size * std::size_t(max_batch));
      largest = std::max(largest, size);
      ops.push_back({std::move(layer), current, buffers.size() - 1});
      current = buffers.size() - 1;
    }
    logits = current;
    dy.resize(largest * std::size_t(max_batch));
    dx.resize(largest * std::size_t(max_batch));
  }

  // The layer that computes spec layer i (and i + 1 when fused); null for views.
  std::unique_ptr<Layer<T>> make_layer(std::size_t i) {
    const LayerSpec& l = plan.spec.layers[i];
    const LayerPlan& lp = plan.layers[i];
    const bool need_dx = !ops.empty();
    auto param = [&](std::size_t k) { return k < lp.tensors.size() ? params.data() + plan.tensors[lp.tensors[k]].offset : nullptr; };
    auto grad = [&](std::size_t k) { return k < lp.tensors.size() ? grads.data() + plan.tensors[lp.tensors[k]].offset : nullptr; };
    const Activation act = l.activation == Activation::softmax ? Activation::linear : l.activation;
    switch (l.kind) {
      case LayerKind::conv2d:
        if (fuses_with_next(plan.spec, i))
          return std::make_unique<Conv2DPool<T>>(window_shape(lp, l), window_shape(plan.layers[i + 1], plan.spec.layers[i + 1]),
                                                 act, max_batch, need_dx, param(0), param(1), grad(0), grad(1));
        return std::make_unique<Conv2D<T>>(window_shape(lp, l), act, max_batch, need_dx, param(0), param(1), grad(0),
                                           grad(1));
      case LayerKind::max_pooling2d: return std::make_unique<MaxPool2D<T>>(window_shape(lp, l), max_batch);
      case LayerKind::average_pooling2d: return std::make_unique<AvgPool2D<T>>(window_shape(lp, l));
      case LayerKind::dense:
        return std::make_unique<Dense<T>>(lp.input_shape[0], l.units, act, param(0), param(1), grad(0), grad(1));
      case LayerKind::dropout: return std::make_unique<Dropout<T>>(l.rate, per_image(lp.input_shape), i, max_batch);
      case LayerKind::activation:
        if (act == Activation::relu) return std::make_unique<Relu<T>>(per_image(lp.input_shape));
        return nullptr;
      case LayerKind::flatten: return nullptr;
      case LayerKind::random_flip:
      case LayerKind::random_translation:
      case LayerKind::random_rotation:
      case LayerKind::random_zoom:
        return std::make_unique<Augment<T>>(l, std::array<int, 3>{lp.input_shape[0], lp.input_shape[1], lp.input_shape[2]},
                                            i, max_batch);
    }
    return nullptr;
  }

  const T* buffer(std::size_t i) const { return i == 0 ? input : buffers[i].data(); }

  void check(int n) const {
    if (n < 0 || n > max_batch) throw std::invalid_argument("Model: batch larger than max_batch");
  }

  void forward(const T* x, int n, const DropoutContext* train) {
    input = x;
    for (Op& op : ops) op.layer->forward(buffer(op.in), buffers[op.out].data(), n, train);
  }

  void backward(const std::uint8_t* labels, int n) {
    T* g = dy.data();      // dL/d(output of the op below)
    T* other = dx.data();  // dL/d(its input)
    softmax_xent_backward(buffer(logits), labels, n, plan.classes(), g);
    for (std::size_t k = ops.size(); k-- > 0;) {
      const Op& op = ops[k];
      op.layer->backward(buffer(op.in), buffer(op.out), g, k == 0 ? nullptr : other, n);
      std::swap(g, other);
    }
  }

  ModelPlan plan;
  int max_batch;
  AlignedVector<T> params;  // (num_params), Keras weight order
  AlignedVector<T> grads;   // (num_params)
  std::vector<Op> ops;
  std::vector<AlignedVector<T>> buffers;  // (max_batch, the op's output shape) each; [0] unused
  std::size_t logits = 0;                 // the buffer holding the logits (max_batch, classes)
  AlignedVector<T> dy, dx;                // (max_batch, the largest output): backward's ping-pong
  const T* input = nullptr;               // (n, h, w, c): x of the last forward
};

template <typename T>
Model<T>::Model(const ModelSpec& spec, int max_batch) {
  if (max_batch < 1) throw std::invalid_argument("Model: max_batch must be at least 1");
  impl_ = std::make_unique<Impl>(spec, max_batch);
}

template <typename T>
Model<T>::~Model() = default;

template <typename T>
const ModelPlan& Model<T>::plan() const {
  return impl_->plan;
}

template <typename T>
int Model<T>::max_batch() const {
  return impl_->max_batch;
}

template <typename T>
std::size_t Model<T>::num_params() const {
  return impl_->plan.num_params;
}

template <typename T>
T* Model<T>::params() {
  return impl_->params.data();
}

template <typename T>
const T* Model<T>::params() const {
  return impl_->params.data();
}

template <typename T>
T* Model<T>::grads() {
  return impl_->grads.data();
}

template <typename T>
const T* Model<T>::grads() const {
  return impl_->grads.data();
}

template <typename T>
void Model<T>::init(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto uniform = [&] { return double(rng() >> 11) * 0x1.0p-53; };  // [0, 1), 53 bits
  for (const TensorSpec& t : impl_->plan.tensors) {
    T* w = impl_->params.data() + t.offset;
    const auto [fan_in, fan_out] = t.shape.size() > 1 ? fans(t.shape) : std::pair<double, double>(1, 1);
    double limit = 0;
    switch (t.initializer) {
      case Initializer::zeros: std::fill(w, w + t.size, T(0)); continue;
      case Initializer::glorot_uniform: limit = std::sqrt(6.0 / (fan_in + fan_out)); break;
      case Initializer::he_uniform: limit = std::sqrt(6.0 / fan_in); break;
      case Initializer::he_normal: {
        // Keras: a normal of this stddev truncated at two stddevs (redrawn beyond), Box-Muller.
        const double stddev = std::sqrt(2.0 / fan_in) / 0.87962566103423978;
        for (std::size_t i = 0; i < t.size; ++i) {
          double z;
          do {
            z = std::sqrt(-2.0 * std::log(1.0 - uniform())) * std::cos(2.0 * std::numbers::pi * uniform());
          } while (std::abs(z) > 2.0);
          w[i] = T(z * stddev);
        }
        continue;
      }
    }
    for (std::size_t i = 0; i < t.size; ++i) w[i] = T(-limit + 2.0 * limit * uniform());
  }
}

template <typename T>
void Model<T>::zero_grads() {
  std::fill(impl_->grads.begin(), impl_->grads.end(), T(0));
}

template <typename T>
const T* Model<T>::forward(const T* x, int n, const DropoutContext* train) {
  impl_->check(n);
  if (n > 0) impl_->forward(x, n, train);
  return impl_->buffer(impl_->logits);
}

template <typename T>
BatchStats Model<T>::evaluate(const T* x, const std::uint8_t* labels, int n, const DropoutContext* train) {
  impl_->check(n);
  const int classes = impl_->plan.classes();
  for (int i = 0; i < n; ++i) {
    if (labels[i] >= classes) throw std::invalid_argument("Model: label out of range");
  }
  const T* logits = forward(x, n, train);
  return softmax_xent_forward(logits, labels, n, classes);
}

template <typename T>
BatchStats Model<T>::accumulate_gradients(const T* x, const std::uint8_t* labels, int n, const DropoutContext& train) {
  const BatchStats stats = evaluate(x, labels, n, &train);
  if (n > 0) impl_->backward(labels, n);
  return stats;
}

template class Model<float>;
template class Model<double>;

}  // namespace fmnist
