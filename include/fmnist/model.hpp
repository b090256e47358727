// A planned Keras Sequential model (docs/models.md: Models) over two contiguous arenas: parameters and
// gradients in Keras weight order (ModelPlan::tensors), so a start is one broadcast and a step
// one allreduce. The layers are views into the arenas, built from the plan: a Conv2D followed by a
// MaxPooling2D becomes the fused Conv2DPool, everything else its generic layer.
// Templated on the scalar so the gradient checks run in double; training uses float.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "fmnist/layers.hpp"
#include "fmnist/model_spec.hpp"

namespace fmnist {

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

  // x: (n, h, w, c) as the plan's input, n <= max_batch. Returns the logits (n, classes) (before
  // a final softmax), valid until the next call. train: null for evaluation (Dropout off), else
  // where the batch sits in training (Dropout on, with that batch's masks).
  const T* forward(const T* x, int n, const DropoutContext* train = nullptr);
  // Forward and the loss/accuracy sums, no gradient.
  BatchStats evaluate(const T* x, const std::uint8_t* labels, int n, const DropoutContext* train = nullptr);
  // Forward in training mode and backward: ADDS the gradient of the batch's loss SUM to grads().
  BatchStats accumulate_gradients(const T* x, const std::uint8_t* labels, int n, const DropoutContext& train);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

extern template class Model<float>;
extern template class Model<double>;

}  // namespace fmnist
