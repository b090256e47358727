// Order-independent sums for the allreduce. Each micro-batch's float gradient is converted to
// 64-bit fixed point (2^-32 resolution) and added as integers, which is associative: the sum is
// the same bit for bit whatever the number of ranks and whichever rank holds which micro-batch.
// So N ranks take exactly the steps of one process, and a run resumes exactly on any N.
// Every conversion is bounded so that no sum of the allowed number of terms can overflow int64.
#pragma once

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "fmnist/config.hpp"

namespace fmnist {

constexpr double kFixedScale = 4294967296.0;  // 2^32
constexpr double kFixedRange = 2147483648.0;  // 2^31: int64 holds fixed-point magnitudes below this

// The magnitude every one of `terms` addends must stay below so that their fixed-point sum fits
// in int64 whatever their signs: with 2^k >= terms, each term converts to less than 2^(63-k) in
// magnitude (the product by 2^32 is exact, truncation only shrinks it), and 2^k of them sum to
// less than 2^63. A power of two keeps the bound exact in double.
constexpr double fixed_limit(std::uint64_t terms) {
  return kFixedRange / static_cast<double>(std::bit_ceil(terms < 1 ? 1 : terms));
}

// A training step sums at most kMaxMicroBatches micro-batches (enforced when the options are
// validated); a larger value (or NaN) in one micro-batch means the run diverged. 2^21.
constexpr double kStepLimit = fixed_limit(kMaxMicroBatches);

// Adds x (n) to sum (n) in fixed point; returns false if some x is not finite or not below
// `limit` in magnitude (that entry then adds nothing).
inline bool add_fixed(const float* x, std::int64_t* sum, std::size_t n, double limit = kStepLimit) {
  bool ok = true;
  for (std::size_t i = 0; i < n; ++i) {
    const double v = static_cast<double>(x[i]);
    const bool fine = std::abs(v) < limit;  // false for NaN too
    ok &= fine;
    sum[i] += static_cast<std::int64_t>((fine ? v : 0.0) * kFixedScale);
  }
  return ok;
}

inline bool add_fixed(double x, std::int64_t* sum, double limit = kStepLimit) {
  const bool fine = std::abs(x) < limit;
  *sum += static_cast<std::int64_t>((fine ? x : 0.0) * kFixedScale);
  return fine;
}

inline double from_fixed(std::int64_t v) { return static_cast<double>(v) / kFixedScale; }

}  // namespace fmnist
