// Model<T>: the ops built by the kinds' registry rows over the model's graph (a row may fuse the
// layer after it in, or make no layer: a view of its input), the two arenas, and every lane's
// block of values and gradients placed by their lifetimes (buffer_plan.hpp); the one training
// path: forward in the layers' order (a topological one), the loss, backward in the reverse order,
// where a value taken by several ops gets the sum of their gradients, added in that fixed order.
// A step with BatchNormalization runs its micro-batches side by side ("lanes") around the exchanges.
#include <algorithm>
#include <stdexcept>

#include "buffer_plan.hpp"
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

constexpr std::size_t kAlignBytes = 64;  // each buffer on a cache line (layers.hpp: CacheAligned)

}  // namespace

template <typename T>
struct Model<T>::Impl {
  // One op of the model's graph, the same in every lane: the values it reads and writes (value 0
  // is the caller's input; a view's value is its input's), its BatchNormalization (one object for
  // every lane) and its tensors' range in the arenas.
  struct Op {
    OpUse use;
    BatchNorm<T>* norm = nullptr;
    std::size_t param_begin = 0, param_end = 0;  // empty without tensors
  };
  // The layers and the block of one micro-batch in flight. Lane 0 serves evaluation and models
  // without BatchNormalization; a step of a model with one uses a lane per micro-batch.
  struct Lane {
    std::vector<std::unique_ptr<Layer<T>>> owned;
    std::vector<Layer<T>*> layers;  // (ops)
    AlignedVector<T> block;         // (buffers.size): every value and gradient, as planned
    const T* input = nullptr;       // (n, h, w, c): x of the last forward
    std::vector<const T*> x;        // an op's inputs, for the call
    std::vector<T*> dx;             // their gradients' destinations
  };

  Impl(const ModelSpec& spec, int n) : plan(plan_model(spec)), max_batch(n), params(plan.num_params), grads(plan.num_params) {
    shared.resize(plan.layers.size());
    value_widths.push_back(image_values());  // value 0: the input
    lanes.push_back(build_lane(true));
    std::vector<OpUse> uses;
    for (const Op& op : ops) {
      uses.push_back(op.use);
      has_norm |= op.norm != nullptr;
    }
    std::vector<std::size_t> sizes;
    for (std::size_t v : value_widths) sizes.push_back(v * std::size_t(max_batch));
    buffers = plan_buffers(uses, sizes, logits, kAlignBytes / sizeof(T));
    lanes[0].block.resize(buffers.size);
  }

  // A lane's layers, from the registry's factories in the layers' order; the first lane also
  // records the ops, their values and each value's width.
  Lane build_lane(bool first_lane) {
    Lane lane;
    std::vector<std::size_t> value_of(plan.layers.size(), 0);  // each layer's output value
    std::vector<bool> needs_grad{false};                       // (values): the input's is never asked
    std::size_t values = 1, widest = 1;
    for (std::size_t i = 0; i < plan.layers.size(); ++i) {
      const std::size_t first = i;
      OpUse use;
      for (int j : plan.layers[i].inputs) use.in.push_back(j == kModelInput ? 0 : value_of[std::size_t(j)]);
      const bool need_dx = std::any_of(use.in.begin(), use.in.end(), [&](std::size_t v) { return needs_grad[v]; });
      const LayerBuild<T> build{{plan, i}, max_batch, need_dx, params.data(), grads.data(), shared[i]};
      BuiltLayer<T> built = kind_row(plan.spec.layers[i].kind).template make<T>()(build);
      if (built.layer == nullptr) {  // a view: the output is the input
        value_of[i] = use.in.at(0);
        continue;
      }
      if (built.owned != nullptr) lane.owned.push_back(std::move(built.owned));
      if (built.fuses_next) ++i;
      value_of[i] = use.out = values++;
      // Its gradient is computed if a tensor lies at or below it (not below augmentation alone).
      bool tensors = false;
      for (std::size_t l = first; l <= i; ++l) tensors |= !plan.layers[l].tensors.empty();
      needs_grad.push_back(need_dx || tensors);
      const BackwardReads reads = built.layer->backward_reads();
      use.reads_input = reads.input;
      use.reads_output = reads.output;
      widest = std::max(widest, use.in.size());
      lane.layers.push_back(built.layer);
      if (first_lane) add_op(std::move(use), built.norm, first, i);
    }
    if (first_lane) {
      logits = value_of.empty() ? 0 : value_of.back();
      grad_needed = std::move(needs_grad);
    }
    lane.x.resize(widest);
    lane.dx.resize(widest);
    return lane;
  }

  // Records the op computing layers [first, last] (last > first: fused) and its output's width.
  void add_op(OpUse use, BatchNorm<T>* norm, std::size_t first, std::size_t last) {
    value_widths.push_back(shape_size(plan.layers[last].output_shape));
    Op op{std::move(use), norm};
    bool any = false;
    for (std::size_t i = first; i <= last; ++i) {
      for (std::size_t t : plan.layers[i].tensors) {
        const TensorSpec& ts = plan.tensors[t];
        op.param_begin = any ? std::min(op.param_begin, ts.offset) : ts.offset;
        op.param_end = any ? std::max(op.param_end, ts.offset + ts.size) : ts.offset + ts.size;
        any = true;
      }
    }
    ops.push_back(std::move(op));
  }

  std::size_t image_values() const {
    const auto& s = plan.spec.input_shape;
    return std::size_t(s[0]) * std::size_t(s[1]) * std::size_t(s[2]);
  }

  // A lane's value v to read (0: its input), to write (an op's output), and the gradient of v.
  const T* read(const Lane& lane, std::size_t v) const { return v == 0 ? lane.input : lane.block.data() + buffers.value[v]; }
  T* write(Lane& lane, std::size_t v) { return lane.block.data() + buffers.value[v]; }
  T* grad(Lane& lane, std::size_t v) { return lane.block.data() + buffers.grad[v]; }

  void check(int n) const {
    if (n < 0 || n > max_batch) throw std::invalid_argument("Model: batch larger than max_batch");
  }
  void check_labels(const std::uint8_t* labels, int n) const {
    for (int i = 0; i < n; ++i) {
      if (labels[i] >= plan.classes()) throw std::invalid_argument("Model: label out of range");
    }
  }

  void ensure_lanes(std::size_t count) {
    while (lanes.size() < count) {
      lanes.push_back(build_lane(false));
      lanes.back().block.resize(buffers.size);
    }
  }

  // Op k's forward on one lane.
  void forward_op(Lane& lane, std::size_t k, int n, const DropoutContext* train) {
    const std::vector<std::size_t>& in = ops[k].use.in;
    for (std::size_t j = 0; j < in.size(); ++j) lane.x[j] = read(lane, in[j]);
    lane.layers[k]->forward_inputs({lane.x.data(), in.size()}, write(lane, ops[k].use.out), n, train);
  }

  // Forward over lanes [0, batches.size()), segment by segment: the ops up to a
  // BatchNormalization on every lane, its statistics (exchanged, or these lanes' own when
  // exchange is null), the normalisation on every lane, and on. training false: evaluation.
  void forward(std::span<const MicroBatch<T>> batches, bool training, const Exchange* exchange, bool update_moving,
               StepResult& result) {
    ensure_lanes(batches.size());
    for (std::size_t j = 0; j < batches.size(); ++j) lanes[j].input = batches[j].x;
    std::size_t first = 0;
    for (std::size_t k = 0; k <= ops.size(); ++k) {
      if (k < ops.size() && (ops[k].norm == nullptr || !training)) continue;
      for (std::size_t j = 0; j < batches.size(); ++j) {
        for (std::size_t i = first; i < k; ++i) forward_op(lanes[j], i, batches[j].n, training ? &batches[j].where : nullptr);
      }
      if (k == ops.size()) break;
      norm_forward(k, batches, exchange, update_moving, result);
      first = k + 1;
    }
  }

  // The statistics of BatchNormalization op k over the batch, then its training forward on every lane.
  void norm_forward(std::size_t k, std::span<const MicroBatch<T>> batches, const Exchange* exchange, bool update_moving,
                    StepResult& result) {
    BatchNorm<T>& norm = *ops[k].norm;
    const std::size_t in = ops[k].use.in[0], out = ops[k].use.out;
    NormSums total(std::size_t(norm.channels()));  // sum of x - K, sum of (x - K)^2
    for (std::size_t j = 0; j < batches.size(); ++j) {
      norm.batch_sums(read(lanes[j], in), batches[j].n, total.local.data());
      result.fine &= total.add(batches[j].n, exchange != nullptr);
    }
    if (exchange) total.exchange(*exchange);
    norm.set_batch(total.sums.data(), double(total.fixed[0]) * double(norm.pixels()), update_moving);
    for (std::size_t j = 0; j < batches.size(); ++j)
      norm.forward(read(lanes[j], in), write(lanes[j], out), batches[j].n, &batches[j].where);
  }

  // Backward over lanes [0, batches.size()) from the loss down, unit by unit (the ops between two
  // BatchNormalizations, then the BatchNormalization below with its exchanged sums); after each
  // unit of each lane its parameter range goes to the sink and is zeroed (no sink: gradients add up).
  void backward(std::span<const MicroBatch<T>> batches, const Exchange* exchange, const GradientSink* sink,
                StepResult& result) {
    if (ops.empty()) return;  // nothing computes: no gradient
    for (std::size_t j = 0; j < batches.size(); ++j)
      softmax_xent_backward(read(lanes[j], logits), batches[j].labels, batches[j].n, plan.classes(),
                            grad(lanes[j], logits), label_smoothing);
    std::size_t top = ops.size();
    while (top > 0) {
      std::size_t bottom = top;
      while (bottom > 0 && ops[bottom - 1].norm == nullptr) --bottom;
      for (std::size_t j = 0; j < batches.size(); ++j) {
        for (std::size_t i = top; i-- > bottom;)
          if (grad_needed[ops[i].use.out]) backward_op(lanes[j], i, batches[j].n);
        finish_unit(bottom, top, sink, result);
      }
      if (bottom == 0) break;
      norm_backward(bottom - 1, batches, exchange, sink, result);
      top = bottom - 1;
    }
  }

  // Where op k's backward writes each input's gradient: the value's gradient itself, its scratch
  // when another op or slot wrote that gradient first, or nowhere (null) when no tensor lies below
  // (the model's input, augmentation's output).
  void input_grads(Lane& lane, std::size_t k) {
    const std::vector<std::size_t>& in = ops[k].use.in;
    for (std::size_t j = 0; j < in.size(); ++j) {
      const std::size_t scratch = buffers.scratch[k][j];
      lane.x[j] = read(lane, in[j]);
      lane.dx[j] = !grad_needed[in[j]] ? nullptr : scratch != kNoBuffer ? lane.block.data() + scratch : grad(lane, in[j]);
    }
  }

  // Adds op k's scratch gradients to their values' gradients, in slot order.
  void add_scratch(Lane& lane, std::size_t k, int n) {
    const std::vector<std::size_t>& in = ops[k].use.in;
    for (std::size_t j = 0; j < in.size(); ++j) {
      if (buffers.scratch[k][j] == kNoBuffer || !grad_needed[in[j]]) continue;
      const T* from = lane.block.data() + buffers.scratch[k][j];
      T* to = grad(lane, in[j]);
      for (std::size_t e = 0, count = std::size_t(n) * value_widths[in[j]]; e < count; ++e) to[e] += from[e];
    }
  }

  void backward_op(Lane& lane, std::size_t k, int n) {
    input_grads(lane, k);
    const std::size_t inputs = ops[k].use.in.size(), out = ops[k].use.out;
    lane.layers[k]->backward_inputs({lane.x.data(), inputs}, read(lane, out), grad(lane, out), {lane.dx.data(), inputs}, n);
    add_scratch(lane, k, n);
  }

  // One lane's gradients of ops [bottom, top) are final: to the sink, then zero.
  void finish_unit(std::size_t bottom, std::size_t top, const GradientSink* sink, StepResult& result) {
    if (sink == nullptr) return;
    std::size_t begin = grads.size(), end = 0;
    for (std::size_t i = bottom; i < top; ++i) {
      if (ops[i].param_begin == ops[i].param_end) continue;
      begin = std::min(begin, ops[i].param_begin);
      end = std::max(end, ops[i].param_end);
    }
    if (begin >= end) return;
    result.fine &= (*sink)(begin, end);
    std::fill(grads.begin() + std::ptrdiff_t(begin), grads.begin() + std::ptrdiff_t(end), T(0));
  }

  void norm_backward(std::size_t k, std::span<const MicroBatch<T>> batches, const Exchange* exchange,
                     const GradientSink* sink, StepResult& result) {
    BatchNorm<T>& norm = *ops[k].norm;
    const std::size_t in = ops[k].use.in[0], out = ops[k].use.out;
    NormSums total(std::size_t(norm.channels()));  // sum of dy, sum of dy * xhat
    std::vector<std::vector<double>> own(batches.size());  // each lane's: its dbeta and dgamma
    for (std::size_t j = 0; j < batches.size(); ++j) {
      norm.backward_sums(read(lanes[j], in), read(lanes[j], out), grad(lanes[j], out), batches[j].n, total.local.data());
      own[j] = total.local;
      result.fine &= total.add(batches[j].n, exchange != nullptr);
    }
    if (exchange) total.exchange(*exchange);
    norm.set_backward(total.sums.data(), double(total.fixed[0]) * double(norm.pixels()));
    for (std::size_t j = 0; j < batches.size(); ++j) {
      Lane& lane = lanes[j];
      input_grads(lane, k);
      norm.backward_with(lane.x[0], read(lane, out), grad(lane, out), lane.dx[0], batches[j].n, own[j].data());
      add_scratch(lane, k, batches[j].n);
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
        result.batches.push_back(
            softmax_xent_forward(read(lanes[j], logits), part[j].labels, part[j].n, plan.classes(), label_smoothing));
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
  std::vector<std::unique_ptr<Layer<T>>> shared;  // by spec layer: the one object of every lane (BatchNormalization)
  std::vector<Op> ops;                            // in the layers' order
  std::vector<std::size_t> value_widths;          // (values): values per image of each
  std::size_t logits = 0;                         // the value holding the logits (max_batch, classes)
  std::vector<bool> grad_needed;                  // (values): backward computes it (a tensor at or below)
  BufferPlan buffers;                             // a lane's block
  std::vector<Lane> lanes;                        // [0] always; more for a step with BatchNormalization
  double label_smoothing = 0;                     // of the loss's targets (set_label_smoothing)
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
BufferBytes Model<T>::buffer_bytes() const {
  return {impl_->buffers.size * sizeof(T), impl_->buffers.unshared * sizeof(T)};
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
void Model<T>::set_label_smoothing(double s) {
  impl_->label_smoothing = s;
}

template <typename T>
const T* Model<T>::forward(const T* x, int n, const DropoutContext* train) {
  impl_->check(n);
  const MicroBatch<T> batch{x, nullptr, n, train ? *train : DropoutContext{}};
  StepResult ignored;
  if (n > 0) impl_->forward({&batch, 1}, train != nullptr, nullptr, false, ignored);
  return impl_->read(impl_->lanes[0], impl_->logits);
}

template <typename T>
BatchStats Model<T>::evaluate(const T* x, const std::uint8_t* labels, int n, const DropoutContext* train) {
  impl_->check(n);
  impl_->check_labels(labels, n);
  const T* logits = forward(x, n, train);
  return softmax_xent_forward(logits, labels, n, impl_->plan.classes(), impl_->label_smoothing);
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
