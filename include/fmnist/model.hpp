// A planned Keras model, Sequential or Functional (docs/models.md: Models), over two contiguous
// arenas: parameters and gradients in Keras weight order (ModelPlan::tensors), so a start is one
// broadcast and a step one allreduce. The layers are views into the arenas, each built by its
// kind's registry row, and run in the plan's order (a topological one): a Conv2D whose output only
// a MaxPooling2D right after it takes becomes the fused Conv2DPool, a BatchNormalization followed
// so by Activation(relu) one layer, everything else its generic layer. A micro-batch's activations
// and gradients share one block of memory by their lifetimes (docs/computing.md).
// A training step (train_step) runs every micro-batch a rank holds; with BatchNormalization it
// runs them side by side, segment by segment, so that each BatchNormalization sees the statistics
// of the whole global batch through the caller's exchange (src/nn never sees MPI).
// Templated on the scalar so the gradient checks run in double; training uses float.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "fmnist/layers.hpp"
#include "fmnist/model_spec.hpp"

namespace fmnist {

// One micro-batch of a training step: images (n, h, w, c), labels (n), and where it sits.
template <typename T>
struct MicroBatch {
  const T* x = nullptr;
  const std::uint8_t* labels = nullptr;
  int n = 0;
  DropoutContext where;
};

// Sums n int64 values in place over every micro-batch of the global batch (all ranks): the
// trainer's watched allreduce. Every rank calls it the same number of times per step (twice per
// BatchNormalization, none without), also a rank with no micro-batch.
using Exchange = std::function<void(std::int64_t* sums, std::size_t n)>;
// grads()[begin, end) now hold one micro-batch's final gradient: the caller adds them (fixed
// point); the model zeros them afterwards. Returns false if a value was out of range.
using GradientSink = std::function<bool(std::size_t begin, std::size_t end)>;

// What a training step returns: each micro-batch's loss and accuracy sums, in order; fine is false
// when a batch statistic was out of the fixed-point range or the sink refused a gradient.
struct StepResult {
  std::vector<BatchStats> batches;
  bool fine = true;
};

// The BatchNormalization statistics exchanged by train_step are each micro-batch's per-channel
// sums (of x - moving_mean and its square forward, of dy and dy * xhat backward) in the wide fixed
// point of fmnist/exact_sum.hpp (2^-56 resolution, double's precision), for at most kNormMaxTerms
// micro-batches per step (the trainer's kMaxMicroBatches): |v| < 2^36 per term. A term beyond,
// or not finite, makes StepResult::fine false.
inline constexpr std::size_t kNormMaxTerms = 1024;

// A lane's buffers (every activation and gradient a step keeps): their bytes as planned, where
// buffers whose lifetimes do not overlap share memory, and their bytes side by side.
struct BufferBytes {
  std::size_t planned = 0;
  std::size_t unshared = 0;
};

template <typename T>
class Model {
 public:
  // Plans the spec (throws Error(Exit::usage) for a bad one) and builds its layers; workspaces
  // are sized once for at most max_batch images per call: nothing is allocated later.
  Model(const ModelSpec& spec, int max_batch);
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const ModelPlan& plan() const;
  int max_batch() const;
  std::size_t num_params() const;
  T* params();  // (num_params), layout as plan().tensors
  const T* params() const;
  T* grads();  // (num_params), same layout
  const T* grads() const;

  // Each kernel from its initializer (glorot_uniform: limit sqrt(6 / (fan_in + fan_out)),
  // he_uniform: sqrt(6 / fan_in), he_normal: Keras's truncated normal), biases zero; one
  // generator seeded with `seed` draws the tensors in arena order.
  void init(std::uint64_t seed);
  void zero_grads();
  // The loss's label smoothing s in [0, 1) from now on (0 until set): training and evaluation
  // compare the logits with onehot * (1 - s) + s / classes (softmax_xent_forward, layers.hpp).
  void set_label_smoothing(double s);

  // x: (n, h, w, c) as the plan's input, n <= max_batch. Returns the logits (n, classes) (before
  // a final softmax), valid until the next call. train: null for evaluation (Dropout off), else
  // where the batch sits in training (Dropout on, with that batch's masks).
  const T* forward(const T* x, int n, const DropoutContext* train = nullptr);
  // Forward and the loss/accuracy sums, no gradient.
  BatchStats evaluate(const T* x, const std::uint8_t* labels, int n, const DropoutContext* train = nullptr);
  // Forward in training mode and backward: ADDS the gradient of the batch's loss SUM to grads().
  // With BatchNormalization, the batch is these n images alone and the moving statistics stay.
  // For tests and benchmarks: train_step's path, on one micro-batch, without exchange or sink.
  BatchStats accumulate_gradients(const T* x, const std::uint8_t* labels, int n, const DropoutContext& train);

  // One training step over this rank's micro-batches (each n <= max_batch, any count, also none),
  // in order: grads() are zeroed, each micro-batch's gradient of its loss SUM goes to `sink` range
  // by range, and BatchNormalization normalises with the statistics of the whole global batch
  // (exchanged) and updates its moving statistics once. Without BatchNormalization this is
  // accumulate_gradients per micro-batch, bit for bit, and `exchange` is never called.
  StepResult train_step(std::span<const MicroBatch<T>> batches, const Exchange& exchange, const GradientSink& sink);
  // Whether the spec has a BatchNormalization (train_step then exchanges statistics).
  bool has_batch_norm() const;
  // The memory of one micro-batch's buffers (a step with BatchNormalization holds one per micro-batch).
  BufferBytes buffer_bytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

extern template class Model<float>;
extern template class Model<double>;

}  // namespace fmnist
