// The step's order-independent sums: each micro-batch's float gradient and loss go into 64-bit
// fixed point with the shared codec (fmnist/exact_sum.hpp), so N ranks take exactly the steps of
// one process and a run resumes exactly on any N. The bound that keeps a step's sum inside int64
// follows from the most micro-batches a step may have (config.hpp's kMaxMicroBatches).
#pragma once

#include <cstddef>
#include <cstdint>

#include "fmnist/config.hpp"
#include "fmnist/exact_sum.hpp"

namespace fmnist {

// A training step sums at most kMaxMicroBatches micro-batches (enforced when the options are
// validated); a larger value (or NaN) in one micro-batch means the run diverged. 2^21.
constexpr double kStepLimit = fixed_limit(kMaxMicroBatches);

// add_fixed with the step's bound.
inline bool add_fixed(const float* x, std::int64_t* sum, std::size_t n) { return add_fixed(x, sum, n, kStepLimit); }
inline bool add_fixed(double x, std::int64_t* sum) { return add_fixed(x, sum, kStepLimit); }

}  // namespace fmnist
