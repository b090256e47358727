// The regularizers' penalty and gradient (fmnist/regularization.hpp), following Keras's formulas:
// L1 l1 * sum(|x|), L2 l2 * sum(x^2) with no 1/2, L1L2 both (keras/src/regularizers/regularizers.py;
// tf_keras/regularizers.py writes L2 as 2 * l2 * nn.l2_loss(x), nn.l2_loss being sum(x^2) / 2: the same).
#include "fmnist/regularization.hpp"

#include <cmath>

namespace fmnist {

bool has_regularizers(const ModelPlan& plan) {
  for (const TensorSpec& t : plan.tensors) {
    if (t.regularizer.any()) return true;
  }
  return false;
}

template <typename T>
double regularization_penalty(const ModelPlan& plan, const T* params) {
  double penalty = 0;
  for (const TensorSpec& t : plan.tensors) {
    if (!t.regularizer.any()) continue;
    const T* w = params + t.offset;  // (t.size)
    double abs_sum = 0, square_sum = 0;
    for (std::size_t i = 0; i < t.size; ++i) {
      abs_sum += std::abs(double(w[i]));
      square_sum += double(w[i]) * double(w[i]);
    }
    penalty += t.regularizer.l1 * abs_sum + t.regularizer.l2 * square_sum;
  }
  return penalty;
}

template <typename T>
void add_regularization_gradient(const ModelPlan& plan, const T* params, T* grads) {
  for (const TensorSpec& t : plan.tensors) {
    if (!t.regularizer.any()) continue;
    const double l1 = t.regularizer.l1, two_l2 = 2 * t.regularizer.l2;
    const T* w = params + t.offset;  // (t.size)
    T* dw = grads + t.offset;        // (t.size)
    for (std::size_t i = 0; i < t.size; ++i) {
      const double sign = w[i] > 0 ? 1.0 : w[i] < 0 ? -1.0 : 0.0;
      dw[i] = static_cast<T>(double(dw[i]) + two_l2 * double(w[i]) + l1 * sign);
    }
  }
}

template double regularization_penalty<float>(const ModelPlan&, const float*);
template double regularization_penalty<double>(const ModelPlan&, const double*);
template void add_regularization_gradient<float>(const ModelPlan&, const float*, float*);
template void add_regularization_gradient<double>(const ModelPlan&, const double*, double*);

}  // namespace fmnist
