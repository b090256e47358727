// Softmax cross-entropy from logits, numerically stable (log-sum-exp around the row max).
// Forward returns the loss sum and the argmax hits; backward writes softmax - targets, the
// gradient of the loss SUM (the trainer divides by the global sample count). With label smoothing s
// the targets are onehot * (1 - s) + s / classes (keras/src/losses/losses.py categorical_crossentropy).
#include <algorithm>
#include <cmath>

#include "fmnist/layers.hpp"

namespace fmnist {

template <typename T>
BatchStats softmax_xent_forward(const T* logits, const std::uint8_t* labels, int n, int classes,
                                double label_smoothing) {
  BatchStats stats;
  const double spread = label_smoothing / classes, hit = 1 - label_smoothing;
  for (int i = 0; i < n; ++i, logits += classes) {
    int best = 0;
    for (int k = 1; k < classes; ++k) {
      if (logits[k] > logits[best]) best = k;
    }
    const double top = logits[best];
    double sum = 0;
    for (int k = 0; k < classes; ++k) sum += std::exp(double(logits[k]) - top);
    double target_sum = double(logits[labels[i]]);  // sum_k t_k * logits_k
    if (label_smoothing != 0) {
      double all = 0;
      for (int k = 0; k < classes; ++k) all += double(logits[k]);
      target_sum = hit * target_sum + spread * all;
    }
    stats.loss_sum += top + std::log(sum) - target_sum;
    stats.correct += best == labels[i] ? 1 : 0;
  }
  return stats;
}

template <typename T>
void softmax_xent_backward(const T* logits, const std::uint8_t* labels, int n, int classes, T* dlogits,
                           double label_smoothing) {
  const T spread = T(label_smoothing / classes), hit = T(1 - label_smoothing);
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
    if (label_smoothing != 0) {
      for (int k = 0; k < classes; ++k) dlogits[k] -= spread;
    }
    dlogits[labels[i]] -= hit;
  }
}

template BatchStats softmax_xent_forward<float>(const float*, const std::uint8_t*, int, int, double);
template BatchStats softmax_xent_forward<double>(const double*, const std::uint8_t*, int, int, double);
template void softmax_xent_backward<float>(const float*, const std::uint8_t*, int, int, float*, double);
template void softmax_xent_backward<double>(const double*, const std::uint8_t*, int, int, double*, double);

}  // namespace fmnist
