// The one evaluation of predictions against labels, for --evaluate and --predict alike:
// softmax cross-entropy from the logits (log-sum-exp), argmax accuracy and the confusion matrix,
// over the labelled images only; and the matrix as the text table fmnist_inspect prints.
#include <cmath>
#include <cstdio>

#include "fmnist/error.hpp"
#include "fmnist/predict.hpp"
#include "ranking.hpp"

namespace fmnist {

Scores score(const std::vector<float>& logits, const std::vector<int>& labels, int classes) {
  if (logits.size() != labels.size() * std::size_t(classes)) {
    throw Error(Exit::internal, "score: " + std::to_string(logits.size()) + " logits for " +
                                    std::to_string(labels.size()) + " images of " + std::to_string(classes) + " classes");
  }
  Scores s;
  s.classes = classes;
  s.confusion.assign(std::size_t(classes) * std::size_t(classes), 0);
  double loss_sum = 0;
  std::int64_t correct = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const int label = labels[i];
    if (label < 0) continue;
    if (label >= classes) throw Error(Exit::internal, "score: label " + std::to_string(label) + " out of range");
    const float* row = logits.data() + i * std::size_t(classes);  // (classes)
    const int predicted = detail::argmax(row, classes);
    double sum = 0;
    for (int c = 0; c < classes; ++c) sum += std::exp(double(row[c]) - row[predicted]);
    loss_sum += std::log(sum) + row[predicted] - row[label];
    correct += predicted == label;
    ++s.confusion[std::size_t(label * classes + predicted)];
    ++s.samples;
  }
  s.loss = s.samples ? loss_sum / double(s.samples) : 0;
  s.accuracy = s.samples ? double(correct) / double(s.samples) : 0;
  return s;
}

std::string confusion_text(const Scores& s, const std::vector<std::string>& class_names) {
  std::string out = "Confusion matrix (rows: true class, columns: predicted class)\n";
  char cell[64];
  std::snprintf(cell, sizeof cell, "%16s", "");
  out += cell;
  for (int c = 0; c < s.classes; ++c) {
    std::snprintf(cell, sizeof cell, "%6d", c);
    out += cell;
  }
  out += "\n";
  for (int t = 0; t < s.classes; ++t) {
    std::snprintf(cell, sizeof cell, "  %d %-12s", t, class_names[std::size_t(t)].c_str());
    out += cell;
    for (int p = 0; p < s.classes; ++p) {
      std::snprintf(cell, sizeof cell, "%6lld", static_cast<long long>(s.count(t, p)));
      out += cell;
    }
    out += "\n";
  }
  return out;
}

}  // namespace fmnist
