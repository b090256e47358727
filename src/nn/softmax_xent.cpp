// Softmax cross-entropy from logits, numerically stable (log-sum-exp around the row max).
// Forward returns the loss sum and the argmax hits; backward writes softmax - onehot, the
// gradient of the loss SUM (the trainer divides by the global sample count).
#include <algorithm>
#include <cmath>

#include "fmnist/layers.hpp"

namespace fmnist {

template <typename T>
BatchStats softmax_xent_forward(const T* logits, const std::uint8_t* labels, int n, int classes) {
  BatchStats stats;
  for (int i = 0; i < n; ++i, logits += classes) {
    int best = 0;
    for (int k = 1; k < classes; ++k) {
      if (logits[k] > logits[best]) best = k;
    }
    const double top = logits[best];
    double sum = 0;
    for (int k = 0; k < classes; ++k) sum += std::exp(double(logits[k]) - top);
    stats.loss_sum += top + std::log(sum) - double(logits[labels[i]]);
    stats.correct += best == labels[i] ? 1 : 0;
  }
  return stats;
}

template <typename T>
void softmax_xent_backward(const T* logits, const std::uint8_t* labels, int n, int classes,
                           T* dlogits) {
  for (int i = 0; i < n; ++i, logits += classes, dlogits += classes) {
    T top = logits[0];
    for (int k = 1; k < classes; ++k) top = std::max(top, logits[k]);
    T sum = 0;
    for (int k = 0; k < classes; ++k) {
      dlogits[k] = std::exp(logits[k] - top);
      sum += dlogits[k];
    }
    const T inv = T(1) / sum;
    for (int k = 0; k < classes; ++k) dlogits[k] *= inv;
    dlogits[labels[i]] -= T(1);
  }
}

template BatchStats softmax_xent_forward<float>(const float*, const std::uint8_t*, int, int);
template BatchStats softmax_xent_forward<double>(const double*, const std::uint8_t*, int, int);
template void softmax_xent_backward<float>(const float*, const std::uint8_t*, int, int, float*);
template void softmax_xent_backward<double>(const double*, const std::uint8_t*, int, int, double*);

}  // namespace fmnist
