// Model<T>: the layer list built by the kinds' registry rows (which may fuse the next layer in, or
// make no layer: a view), the two arenas and every activation buffer, and the one training path:
// forward, the loss and backward; a step with BatchNormalization runs its micro-batches side by
// side ("lanes") around the exchanges.
#include <algorithm>
#include <stdexcept>

#include "fmnist/exact_sum.hpp"
#include "fmnist/model.hpp"
#include "initializers.hpp"
#include "registry.hpp"

namespace fmnist {
namespace {

// A BatchNormalization's per-channel sums over the micro-batches of a step: doubles in lane order
// (one process, no exchange), or the wide fixed point [images, hi (2c), lo (2c)] summed by the exchange.
struct NormSums {
  static constexpr double kLimit = fixed_limit(kNormMaxTerms, kWideRange);  // per term: 2^36
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
      if (exchanged) fine &= add_fixed_wide(local[e], fixed[1 + e], fixed[1 + m + e], kLimit);
    }
    std::fill(local.begin(), local.end(), 0.0);
    return fine;
  }
  // The global totals after the exchange.
  void exchange(const Exchange& exchange) {
    exchange(fixed.data(), fixed.size());
    for (std::size_t e = 0; e < sums.size(); ++e) sums[e] = from_fixed_wide(fixed[1 + e], fixed[1 + sums.size() + e]);
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
    shared.resize(plan.layers.size());
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
      const LayerBuild<T> build{{plan, i}, max_batch, !lane.ops.empty(), params.data(), grads.data(), shared[i]};
      BuiltLayer<T> built = kind_row(plan.spec.layers[i].kind).template make<T>()(build);
      if (built.layer == nullptr) continue;  // a view: the output is the input
      if (built.owned != nullptr) lane.owned.push_back(std::move(built.owned));
      if (built.fuses_next) ++i;
      const std::size_t size = shape_size(plan.layers[i].output_shape);
      lane.buffers.emplace_back(size * std::size_t(max_batch));
      largest = std::max(largest, size);
      Op op{built.layer, built.norm, current, lane.buffers.size() - 1};
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

  // The one training path: each micro-batch's forward in training mode, its loss and accuracy
  // sums, and backward. exchange and sink null (accumulate_gradients): the batches are the whole
  // batch, their gradients add up in grads() and the moving statistics stay; else (train_step)
  // BatchNormalization's statistics are exchanged and its moving statistics updated, and grads()
  // start at zero, each gradient range going to the sink and back to zero.
  StepResult step(std::span<const MicroBatch<T>> batches, const Exchange* exchange, const GradientSink* sink) {
    for (const MicroBatch<T>& b : batches) {
      check(b.n);
      check_labels(b.labels, b.n);
    }
    if (sink != nullptr) std::fill(grads.begin(), grads.end(), T(0));
    StepResult result;
    auto run = [&](std::span<const MicroBatch<T>> part) {
      forward(part, true, exchange, exchange != nullptr, result);
      for (std::size_t j = 0; j < part.size(); ++j)
        result.batches.push_back(softmax_xent_forward(lanes[j].buffer(logits), part[j].labels, part[j].n, plan.classes()));
      backward(part, exchange, sink, result);
    };
    if (has_norm) {
      run(batches);  // side by side, also with none: the exchanges happen on every rank
    } else {
      for (const MicroBatch<T>& b : batches) run({&b, 1});  // independent: one at a time, on lane 0
    }
    return result;
  }

  ModelPlan plan;
  int max_batch;
  AlignedVector<T> params;  // (num_params), Keras weight order
  AlignedVector<T> grads;   // (num_params)
  std::vector<std::unique_ptr<Layer<T>>> shared;     // by spec layer: the one object of every lane (BatchNormalization)
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
  initialize(impl_->plan, seed, impl_->params.data());
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
  impl_->check(n);
  const MicroBatch<T> batch{x, labels, n, train};
  const StepResult step = impl_->step({&batch, n > 0 ? 1u : 0u}, nullptr, nullptr);  // an empty batch computes nothing
  return n > 0 ? step.batches.front() : BatchStats{};
}

template <typename T>
StepResult Model<T>::train_step(std::span<const MicroBatch<T>> batches, const Exchange& exchange, const GradientSink& sink) {
  return impl_->step(batches, &exchange, &sink);
}

template <typename T>
bool Model<T>::has_batch_norm() const {
  return impl_->has_norm;
}

template class Model<float>;
template class Model<double>;

}  // namespace fmnist
