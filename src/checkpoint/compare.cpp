// fmnist_inspect --compare: two checkpoints, tensor by tensor (checkpoint_compare.hpp). Works on
// checkpoints already read (and verified) by read_checkpoint, so no HDF5 here.
#include "fmnist/checkpoint_compare.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace fmnist {

double relative_difference(const float* a, const float* b, std::size_t n, double tolerance) {
  double largest_difference = 0, largest_magnitude = 0;
  for (std::size_t i = 0; i < n; ++i) {
    largest_difference = std::max(largest_difference, std::abs(double(a[i]) - double(b[i])));
    largest_magnitude = std::max(largest_magnitude, std::abs(double(a[i])));
  }
  if (tolerance == 0 && std::memcmp(a, b, n * sizeof(float)) != 0 && largest_difference == 0) return 1;
  return largest_magnitude > 0 ? largest_difference / largest_magnitude : largest_difference;
}

bool Comparison::same() const {
  return mismatch.empty() && std::all_of(tensors.begin(), tensors.end(), [](const auto& t) { return t.within; });
}

Comparison compare_checkpoints(const Checkpoint& a, const Checkpoint& b, double tolerance) {
  Comparison c;
  c.tolerance = tolerance;
  const std::string other_model = first_difference(a.model, b.model);
  if (!other_model.empty()) {
    c.mismatch = "model: " + other_model;
    return c;
  }
  auto add = [&](const std::string& name, const float* x, const float* y, std::size_t n) {
    const double d = relative_difference(x, y, n, tolerance);
    c.tensors.push_back({name, d, d <= tolerance});
  };
  for (const TensorSpec& t : plan_model(a.model).tensors)
    add(t.name, a.weights.data() + t.offset, b.weights.data() + t.offset, t.size);
  const OptimizerState &p = a.optimizer, &q = b.optimizer;
  if (p.kind != q.kind || p.slots.size() != q.slots.size()) {
    c.mismatch = "optimizer: " + to_text(p.kind) + " against " + to_text(q.kind);
    return c;
  }
  for (std::size_t i = 0; i < p.slots.size(); ++i)
    add("optimizer/" + p.slots[i].name, p.slots[i].data.data(), q.slots[i].data.data(), p.slots[i].data.size());
  if (a.training.step != b.training.step) {
    c.mismatch = "steps: " + std::to_string(a.training.step) + " against " + std::to_string(b.training.step);
  }
  return c;
}

std::string comparison_text(const Comparison& c, const std::string& a, const std::string& b) {
  char line[512];
  std::snprintf(line, sizeof line, "%g", c.tolerance);
  std::string text = "Comparing " + a + " with " + b + " (tolerance " + line + ")\n";
  for (const TensorDifference& t : c.tensors) {
    std::snprintf(line, sizeof line, "  %-28s %12.3e %s\n", t.name.c_str(), t.difference, t.within ? "ok" : "DIFFERS");
    text += line;
  }
  if (!c.mismatch.empty()) text += "  " + c.mismatch + " DIFFERS\n";
  text += c.same() ? "Same within the tolerance\n" : "They differ\n";
  return text;
}

}  // namespace fmnist
