// Order-independent sums for the allreduce. Each micro-batch's float gradient is converted to
// 64-bit fixed point (2^-32 resolution) and added as integers, which is associative: the sum is
// the same bit for bit whatever the number of ranks and whichever rank holds which micro-batch.
// So N ranks take exactly the steps of one process, and a run resumes exactly on any N.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

namespace fmnist {

constexpr double kFixedScale = 4294967296.0;  // 2^32
// Per micro-batch, a magnitude of 2^24 or more (or NaN) means the run diverged; the bound keeps
// sums of up to 2^7 micro-batches inside int64.
constexpr double kFixedLimit = 16777216.0;

// Adds x (n) to sum (n) in fixed point; returns false if some x is not finite or too large
// (that entry then adds nothing).
inline bool add_fixed(const float* x, std::int64_t* sum, std::size_t n) {
  bool ok = true;
  for (std::size_t i = 0; i < n; ++i) {
    const double v = static_cast<double>(x[i]);
    const bool fine = std::abs(v) < kFixedLimit;  // false for NaN too
    ok &= fine;
    sum[i] += static_cast<std::int64_t>((fine ? v : 0.0) * kFixedScale);
  }
  return ok;
}

inline bool add_fixed(double x, std::int64_t* sum) {
  const bool fine = std::abs(x) < kFixedLimit * 256;
  *sum += static_cast<std::int64_t>((fine ? x : 0.0) * kFixedScale);
  return fine;
}

inline double from_fixed(std::int64_t v) { return static_cast<double>(v) / kFixedScale; }

}  // namespace fmnist
