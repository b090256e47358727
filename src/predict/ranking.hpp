// Reading one row of logits: the predicted class, the softmax probabilities, the k most probable
// classes. Shared by the scores, the prediction rows and the choice of the most confident errors.
#pragma once

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace fmnist::detail {

// The first class with the largest logit (numpy's argmax).
inline int argmax(const float* logits, int classes) {
  return static_cast<int>(std::max_element(logits, logits + classes) - logits);
}

// softmax(logits) in double, computed from the largest logit so that nothing overflows.
inline std::vector<double> probabilities(const float* logits, int classes) {
  const float top = logits[argmax(logits, classes)];
  std::vector<double> p(static_cast<std::size_t>(classes));
  double sum = 0;
  for (int c = 0; c < classes; ++c) sum += p[std::size_t(c)] = std::exp(double(logits[c]) - top);
  for (double& v : p) v /= sum;
  return p;
}

// The k most probable classes (fewer when there are fewer classes), most probable first; ties
// keep the lower class first.
inline std::vector<int> top_classes(const std::vector<double>& p, int k) {
  std::vector<int> order(p.size());
  std::iota(order.begin(), order.end(), 0);
  k = std::min<int>(k, static_cast<int>(order.size()));
  std::partial_sort(order.begin(), order.begin() + k, order.end(),
                    [&](int a, int b) { return p[std::size_t(a)] > p[std::size_t(b)] || (p[std::size_t(a)] == p[std::size_t(b)] && a < b); });
  order.resize(std::size_t(k));
  return order;
}

}  // namespace fmnist::detail
