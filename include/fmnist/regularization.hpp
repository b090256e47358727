// The weight regularizers' penalty and its gradient (docs/training.md: Regularization), over the
// parameter arena: each tensor whose layer field carries one (TensorSpec::regularizer) adds
// l1 * sum|w| + l2 * sum w^2 to the loss, as Keras's L1, L2 and L1L2 do. The weights are the same on
// every rank, so every rank computes the same figures alone, after the step's allreduce.
#pragma once

#include "fmnist/model_spec.hpp"

namespace fmnist {

// Whether any tensor of the plan carries a regularizer.
bool has_regularizers(const ModelPlan& plan);

// The penalty at `params` (num_params), summed in double in arena order: the same bytes on every rank.
template <typename T>
double regularization_penalty(const ModelPlan& plan, const T* params);

// Adds the penalty's gradient, 2 * l2 * w + l1 * sign(w) (sign(0) = 0, TensorFlow's gradient of |w|),
// to `grads` (num_params), each element computed in double and rounded once.
template <typename T>
void add_regularization_gradient(const ModelPlan& plan, const T* params, T* grads);

}  // namespace fmnist
