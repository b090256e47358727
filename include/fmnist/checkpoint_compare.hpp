// fmnist_inspect --compare: do two checkpoints hold the same model, optimizer, step count and
// weights? Each weight tensor and optimizer slot is compared by its relative difference, the
// largest |a - b| over the largest |a| of the tensor, against a tolerance (0: the same bytes).
// Used by the tests that check N-invariance and exact resume (tests/mpi/lib.sh: same_weights).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "fmnist/checkpoint.hpp"

namespace fmnist {

// Largest |a - b| over largest |a| (the largest |a - b| itself when a is all zeros). With
// tolerance 0 any difference in the bytes counts (-0.0 against 0.0, another NaN): then a
// difference that the arithmetic does not see returns 1.
double relative_difference(const float* a, const float* b, std::size_t n, double tolerance);

struct TensorDifference {
  std::string name;   // "conv2d/kernel:0", "optimizer/velocity"
  double difference;  // relative_difference
  bool within;        // difference <= tolerance
};

struct Comparison {
  double tolerance = 0;
  std::string mismatch;                   // why the two cannot be compared tensor by tensor ("" if they can)
  std::vector<TensorDifference> tensors;  // the weights in arena order, then the optimizer slots
  bool same() const;
};

// Compares b against a: the model (first_difference), the optimizer (name and slots), the
// weights and slots tensor by tensor, and the step count.
Comparison compare_checkpoints(const Checkpoint& a, const Checkpoint& b, double tolerance);

// "Comparing A with B (tolerance t)", then one line per tensor: name, difference, ok or DIFFERS;
// or the mismatch.
std::string comparison_text(const Comparison& c, const std::string& a, const std::string& b);

}  // namespace fmnist
