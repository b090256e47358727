// Model<T>: builds the layer list from the plan (fused Conv2DPool where the spec has a
// Conv2D -> MaxPooling2D pair, BatchNormalization with its ReLU, a generic layer elsewhere, no layer at all for Flatten,
// linear activations and the final softmax, whose outputs alias their inputs), owns the two
// arenas and every activation buffer, and runs forward, the loss and backward over them; a step
// with BatchNormalization runs its micro-batches side by side ("lanes") around the exchanges.
#include <algorithm>
#include <bit>
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

// The fused layers' patterns: a Conv2D followed by a MaxPooling2D (any geometry, either
// activation), and a BatchNormalization followed by Activation('relu').
bool fuses_with_next(const ModelSpec& spec, std::size_t i) {
  if (i + 1 >= spec.layers.size()) return false;
  const LayerSpec &l = spec.layers[i], &next = spec.layers[i + 1];
  return (l.kind == LayerKind::conv2d && next.kind == LayerKind::max_pooling2d) ||
         (l.kind == LayerKind::batch_normalization && next.kind == LayerKind::activation &&
          next.activation == Activation::relu);
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

// Adds v to the limbs (hi, lo) of a fixed-point sum (see kNormHighBits); false (and nothing
// added) if v is not finite or too large for kNormMaxTerms such terms.
bool add_norm_fixed(double v, std::int64_t& hi, std::int64_t& lo) {
  const double limit = std::ldexp(1.0, 62 - kNormHighBits - std::bit_width(kNormMaxTerms - 1));
  const bool fine = std::abs(v) < limit;  // false for NaN too
  const double scaled = (fine ? v : 0.0) * std::ldexp(1.0, kNormHighBits), whole = std::floor(scaled);
  hi += static_cast<std::int64_t>(whole);
  lo += static_cast<std::int64_t>((scaled - whole) * std::ldexp(1.0, kNormLowBits));
  return fine;
}

double from_norm_fixed(std::int64_t hi, std::int64_t lo) {
  return std::ldexp(double(hi), -kNormHighBits) + std::ldexp(double(lo), -kNormHighBits - kNormLowBits);
}

// A BatchNormalization's per-channel sums over the micro-batches of a step: doubles in lane order
// (one process, no exchange), or the fixed point [images, hi (2c), lo (2c)] summed by the exchange.
struct NormSums {
  std::vector<double> sums, local;  // (2 * channels)
  std::vector<std::int64_t> fixed;  // (1 + 4 * channels)
  explicit NormSums(std::size_t c) : sums(2 * c, 0.0), local(2 * c), fixed(1 + 4 * c, 0) {}
  // Adds local (one micro-batch of n images) to the totals; false if out of range.
  bool add(int n, bool exchanged) {
    bool fine = true;
    const std::size_t m = sums.size();
    fixed[0] += n;
    for (std::size_t e = 0; e < m; ++e) {
      sums[e] += local[e];
      if (exchanged) fine &= add_norm_fixed(local[e], fixed[1 + e], fixed[1 + m + e]);
    }
    std::fill(local.begin(), local.end(), 0.0);
    return fine;
  }
  // The global totals after the exchange.
  void exchange(const Exchange& exchange) {
    exchange(fixed.data(), fixed.size());
    for (std::size_t e = 0; e < sums.size(); ++e) sums[e] = from_norm_fixed(fixed[1 + e], fixed[1 + sums.size() + e]);
  }
};

}  // namespace

template <typename T>
struct Model<T>::Impl {
  struct Op {
    Layer<T>* layer = nullptr;
    BatchNorm<T>* norm = nullptr;  // the same object as layer for a BatchNormalization (shared by the lanes)
    std::size_t in = 0, out = 0;   // activation buffers of the lane; 0 is the input x
    std::size_t param_begin = 0, param_end = 0;  // its tensors in the arenas (empty without)
  };
  // The layers and buffers of one micro-batch in flight. Lane 0 serves evaluation and models
  // without BatchNormalization; a step of a model with one uses a lane per micro-batch.
  struct Lane {
    std::vector<std::unique_ptr<Layer<T>>> owned;
    std::vector<Op> ops;
    std::vector<AlignedVector<T>> buffers;  // (max_batch, the op's output shape) each; [0] unused
    AlignedVector<T> dy, dx;                // (max_batch, the largest output or classes): backward's ping-pong
    const T* input = nullptr;               // (n, h, w, c): x of the last forward
    T* grad = nullptr;                      // in backward: dL/d(output of the next op down)
    T* spare = nullptr;                     // the other ping-pong buffer
    const T* buffer(std::size_t i) const { return i == 0 ? input : buffers[i].data(); }
  };

  Impl(const ModelSpec& spec, int n) : plan(plan_model(spec)), max_batch(n), params(plan.num_params), grads(plan.num_params) {
    norms.resize(plan.layers.size());
    lanes.push_back(build_lane());
    logits = lanes[0].ops.empty() ? 0 : lanes[0].ops.back().out;
    for (const Op& op : lanes[0].ops) has_norm |= op.norm != nullptr;
  }

  Lane build_lane() {
    Lane lane;
    lane.buffers.emplace_back();  // 0: the input, held by the caller
    std::size_t current = 0;
    std::size_t largest = std::size_t(plan.classes());  // the loss writes (n, classes) into dy
    for (std::size_t i = 0; i < plan.layers.size(); ++i) {
      const std::size_t first = i;
      Layer<T>* layer = make_layer(i, lane);
      if (layer == nullptr) continue;  // a view: the output is the input
      if (fuses_with_next(plan.spec, i)) ++i;
      const std::size_t size = per_image(plan.layers[i].output_shape);
      lane.buffers.emplace_back(size * std::size_t(max_batch));
      largest = std::max(largest, size);
      Op op{layer, plan.spec.layers[first].kind == LayerKind::batch_normalization ? norms[first].get() : nullptr, current,
            lane.buffers.size() - 1};
      param_range(first, i, op);
      lane.ops.push_back(op);
      current = lane.buffers.size() - 1;
    }
    lane.dy.resize(largest * std::size_t(max_batch));
    lane.dx.resize(largest * std::size_t(max_batch));
    return lane;
  }

  // The arena range of the tensors of spec layers [first, last].
  void param_range(std::size_t first, std::size_t last, Op& op) const {
    bool any = false;
    for (std::size_t i = first; i <= last; ++i) {
      for (std::size_t t : plan.layers[i].tensors) {
        const TensorSpec& ts = plan.tensors[t];
        op.param_begin = any ? std::min(op.param_begin, ts.offset) : ts.offset;
        op.param_end = any ? std::max(op.param_end, ts.offset + ts.size) : ts.offset + ts.size;
        any = true;
      }
    }
  }

  // The layer that computes spec layer i (and i + 1 when fused), owned by the lane (a
  // BatchNormalization by the model, one for all lanes); null for views.
  Layer<T>* make_layer(std::size_t i, Lane& lane) {
    const LayerSpec& l = plan.spec.layers[i];
    const LayerPlan& lp = plan.layers[i];
    const bool need_dx = !lane.ops.empty();
    auto param = [&](std::size_t k) { return k < lp.tensors.size() ? params.data() + plan.tensors[lp.tensors[k]].offset : nullptr; };
    auto grad = [&](std::size_t k) { return k < lp.tensors.size() ? grads.data() + plan.tensors[lp.tensors[k]].offset : nullptr; };
    const Activation act = l.activation == Activation::softmax ? Activation::linear : l.activation;
    std::unique_ptr<Layer<T>> layer;
    switch (l.kind) {
      case LayerKind::conv2d:
        if (fuses_with_next(plan.spec, i))
          layer = std::make_unique<Conv2DPool<T>>(window_shape(lp, l), window_shape(plan.layers[i + 1], plan.spec.layers[i + 1]),
                                                  act, max_batch, need_dx, param(0), param(1), grad(0), grad(1));
        else
          layer = std::make_unique<Conv2D<T>>(window_shape(lp, l), act, max_batch, need_dx, param(0), param(1), grad(0),
                                              grad(1));
        break;
      case LayerKind::max_pooling2d: layer = std::make_unique<MaxPool2D<T>>(window_shape(lp, l), max_batch); break;
      case LayerKind::average_pooling2d: layer = std::make_unique<AvgPool2D<T>>(window_shape(lp, l)); break;
      case LayerKind::dense:
        layer = std::make_unique<Dense<T>>(lp.input_shape[0], l.units, act, param(0), param(1), grad(0), grad(1));
        break;
      case LayerKind::dropout: layer = std::make_unique<Dropout<T>>(l.rate, per_image(lp.input_shape), i, max_batch); break;
      case LayerKind::activation:
        if (act == Activation::relu) layer = std::make_unique<Relu<T>>(per_image(lp.input_shape));
        break;
      case LayerKind::flatten: break;
      case LayerKind::batch_normalization: return make_norm(i);
      case LayerKind::random_flip:
      case LayerKind::random_translation:
      case LayerKind::random_rotation:
      case LayerKind::random_zoom:
        layer = std::make_unique<Augment<T>>(l, std::array<int, 3>{lp.input_shape[0], lp.input_shape[1], lp.input_shape[2]},
                                             i, max_batch);
        break;
    }
    if (layer == nullptr) return nullptr;
    lane.owned.push_back(std::move(layer));
    return lane.owned.back().get();
  }

  BatchNorm<T>* make_norm(std::size_t i) {
    if (norms[i] != nullptr) return norms[i].get();
    const LayerSpec& l = plan.spec.layers[i];
    const LayerPlan& lp = plan.layers[i];
    std::size_t k = 0;  // gamma (if scale), beta (if center), moving_mean, moving_variance
    constexpr std::size_t absent = std::size_t(-1);
    auto next = [&](bool present) { return present ? plan.tensors[lp.tensors[k++]].offset : absent; };
    auto in = [](AlignedVector<T>& arena, std::size_t offset) { return offset == absent ? nullptr : arena.data() + offset; };
    const std::size_t gamma = next(l.scale), beta = next(l.center), moving_mean = next(true), moving_variance = next(true);
    const std::size_t channels = std::size_t(lp.input_shape.back());
    norms[i] = std::make_unique<BatchNorm<T>>(int(channels), per_image(lp.input_shape) / channels, l.momentum, l.epsilon,
                                              fuses_with_next(plan.spec, i), in(params, gamma), in(params, beta),
                                              in(params, moving_mean), in(params, moving_variance), in(grads, gamma),
                                              in(grads, beta));
    return norms[i].get();
  }

  void check(int n) const {
    if (n < 0 || n > max_batch) throw std::invalid_argument("Model: batch larger than max_batch");
  }
  void check_labels(const std::uint8_t* labels, int n) const {
    for (int i = 0; i < n; ++i) {
      if (labels[i] >= plan.classes()) throw std::invalid_argument("Model: label out of range");
    }
  }

  // Forward over lanes [0, batches.size()), segment by segment: the ops up to a
  // BatchNormalization on every lane, its statistics (exchanged, or these lanes' own when
  // exchange is null), the normalisation on every lane, and on. training false: evaluation.
  void forward(std::span<const MicroBatch<T>> batches, bool training, const Exchange* exchange, bool update_moving,
               StepResult& result) {
    while (lanes.size() < batches.size()) lanes.push_back(build_lane());
    for (std::size_t j = 0; j < batches.size(); ++j) lanes[j].input = batches[j].x;
    const std::vector<Op>& ops = lanes[0].ops;
    std::size_t first = 0;
    for (std::size_t k = 0; k <= ops.size(); ++k) {
      if (k < ops.size() && (ops[k].norm == nullptr || !training)) continue;
      for (std::size_t j = 0; j < batches.size(); ++j) {
        Lane& lane = lanes[j];
        for (std::size_t i = first; i < k; ++i) {
          const Op& op = lane.ops[i];
          op.layer->forward(lane.buffer(op.in), lane.buffers[op.out].data(), batches[j].n, training ? &batches[j].where : nullptr);
        }
      }
      if (k == ops.size()) break;
      norm_forward(k, batches, exchange, update_moving, result);
      first = k + 1;
    }
  }

  // The statistics of BatchNormalization op k over the batch, then its training forward on every lane.
  void norm_forward(std::size_t k, std::span<const MicroBatch<T>> batches, const Exchange* exchange, bool update_moving,
                    StepResult& result) {
    BatchNorm<T>& norm = *lanes[0].ops[k].norm;
    NormSums total(std::size_t(norm.channels()));  // sum of x - K, sum of (x - K)^2
    for (std::size_t j = 0; j < batches.size(); ++j) {
      norm.batch_sums(lanes[j].buffer(lanes[j].ops[k].in), batches[j].n, total.local.data());
      result.fine &= total.add(batches[j].n, exchange != nullptr);
    }
    if (exchange) total.exchange(*exchange);
    norm.set_batch(total.sums.data(), double(total.fixed[0]) * double(norm.pixels()), update_moving);
    for (std::size_t j = 0; j < batches.size(); ++j) {
      const Op& op = lanes[j].ops[k];
      norm.forward(lanes[j].buffer(op.in), lanes[j].buffers[op.out].data(), batches[j].n, &batches[j].where);
    }
  }

  // Backward over lanes [0, batches.size()) from the loss down, unit by unit (the ops between two
  // BatchNormalizations, then the BatchNormalization below with its exchanged sums); after each
  // unit of each lane its parameter range goes to the sink and is zeroed (no sink: gradients add up).
  void backward(std::span<const MicroBatch<T>> batches, const Exchange* exchange, const GradientSink* sink,
                StepResult& result) {
    for (std::size_t j = 0; j < batches.size(); ++j) {
      Lane& lane = lanes[j];
      lane.grad = lane.dy.data();
      lane.spare = lane.dx.data();
      softmax_xent_backward(lane.buffer(logits), batches[j].labels, batches[j].n, plan.classes(), lane.grad);
    }
    const std::vector<Op>& ops = lanes[0].ops;
    std::size_t top = ops.size();
    while (top > 0) {
      std::size_t bottom = top;
      while (bottom > 0 && ops[bottom - 1].norm == nullptr) --bottom;
      for (std::size_t j = 0; j < batches.size(); ++j) {
        for (std::size_t i = top; i-- > bottom;) backward_op(lanes[j], i, batches[j].n);
        finish_unit(bottom, top, sink, result);
      }
      if (bottom == 0) break;
      norm_backward(bottom - 1, batches, exchange, sink, result);
      top = bottom - 1;
    }
  }

  void backward_op(Lane& lane, std::size_t i, int n) {
    const Op& op = lane.ops[i];
    op.layer->backward(lane.buffer(op.in), lane.buffer(op.out), lane.grad, i == 0 ? nullptr : lane.spare, n);
    std::swap(lane.grad, lane.spare);
  }

  // One lane's gradients of ops [bottom, top) are final: to the sink, then zero.
  void finish_unit(std::size_t bottom, std::size_t top, const GradientSink* sink, StepResult& result) {
    if (sink == nullptr) return;
    std::size_t begin = grads.size(), end = 0;
    for (std::size_t i = bottom; i < top; ++i) {
      const Op& op = lanes[0].ops[i];
      if (op.param_begin == op.param_end) continue;
      begin = std::min(begin, op.param_begin);
      end = std::max(end, op.param_end);
    }
    if (begin >= end) return;
    result.fine &= (*sink)(begin, end);
    std::fill(grads.begin() + std::ptrdiff_t(begin), grads.begin() + std::ptrdiff_t(end), T(0));
  }

  void norm_backward(std::size_t k, std::span<const MicroBatch<T>> batches, const Exchange* exchange,
                     const GradientSink* sink, StepResult& result) {
    BatchNorm<T>& norm = *lanes[0].ops[k].norm;
    NormSums total(std::size_t(norm.channels()));  // sum of dy, sum of dy * xhat
    std::vector<std::vector<double>> own(batches.size());  // each lane's: its dbeta and dgamma
    for (std::size_t j = 0; j < batches.size(); ++j) {
      const Op& op = lanes[j].ops[k];
      norm.backward_sums(lanes[j].buffer(op.in), lanes[j].buffer(op.out), lanes[j].grad, batches[j].n, total.local.data());
      own[j] = total.local;
      result.fine &= total.add(batches[j].n, exchange != nullptr);
    }
    if (exchange) total.exchange(*exchange);
    norm.set_backward(total.sums.data(), double(total.fixed[0]) * double(norm.pixels()));
    for (std::size_t j = 0; j < batches.size(); ++j) {
      Lane& lane = lanes[j];
      const Op& op = lane.ops[k];
      norm.backward_with(lane.buffer(op.in), lane.buffer(op.out), lane.grad, k == 0 ? nullptr : lane.spare, batches[j].n,
                         own[j].data());
      std::swap(lane.grad, lane.spare);
      finish_unit(k, k + 1, sink, result);
    }
  }

  ModelPlan plan;
  int max_batch;
  AlignedVector<T> params;  // (num_params), Keras weight order
  AlignedVector<T> grads;   // (num_params)
  std::vector<std::unique_ptr<BatchNorm<T>>> norms;  // by spec layer: the BatchNormalizations, null elsewhere
  std::vector<Lane> lanes;                           // [0] always; more for a step with BatchNormalization
  std::size_t logits = 0;                            // the buffer holding the logits (max_batch, classes)
  bool has_norm = false;
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
      case Initializer::ones: std::fill(w, w + t.size, T(1)); continue;
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
  const MicroBatch<T> batch{x, nullptr, n, train ? *train : DropoutContext{}};
  StepResult ignored;
  if (n > 0) impl_->forward({&batch, 1}, train != nullptr, nullptr, false, ignored);
  return impl_->lanes[0].buffer(impl_->logits);
}

template <typename T>
BatchStats Model<T>::evaluate(const T* x, const std::uint8_t* labels, int n, const DropoutContext* train) {
  impl_->check(n);
  impl_->check_labels(labels, n);
  const T* logits = forward(x, n, train);
  return softmax_xent_forward(logits, labels, n, impl_->plan.classes());
}

template <typename T>
BatchStats Model<T>::accumulate_gradients(const T* x, const std::uint8_t* labels, int n, const DropoutContext& train) {
  const BatchStats stats = evaluate(x, labels, n, &train);
  const MicroBatch<T> batch{x, labels, n, train};
  StepResult ignored;
  if (n > 0) impl_->backward({&batch, 1}, nullptr, nullptr, ignored);
  return stats;
}

template <typename T>
StepResult Model<T>::train_step(std::span<const MicroBatch<T>> batches, const Exchange& exchange, const GradientSink& sink) {
  Impl& m = *impl_;
  for (const MicroBatch<T>& b : batches) {
    m.check(b.n);
    m.check_labels(b.labels, b.n);
  }
  zero_grads();
  StepResult result;
  auto run = [&](std::span<const MicroBatch<T>> part) {
    m.forward(part, true, &exchange, true, result);
    for (std::size_t j = 0; j < part.size(); ++j)
      result.batches.push_back(
          softmax_xent_forward(m.lanes[j].buffer(m.logits), part[j].labels, part[j].n, m.plan.classes()));
    m.backward(part, &exchange, &sink, result);
  };
  if (m.has_norm) {
    run(batches);  // side by side, also with none: the exchanges happen on every rank
  } else {
    for (const MicroBatch<T>& b : batches) run({&b, 1});  // independent: one at a time, on lane 0
  }
  return result;
}

template <typename T>
bool Model<T>::has_batch_norm() const {
  return impl_->has_norm;
}

template class Model<float>;
template class Model<double>;

}  // namespace fmnist
