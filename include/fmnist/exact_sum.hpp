// Order-independent sums, the one codec of the project: values in 64-bit fixed point added as
// integers (associative: the same bits whatever the ranks and whichever rank holds which term),
// each conversion bounded so that no sum of the allowed terms overflows. One limb (2^-32) for the
// step's gradients and loss (src/train); two limbs (2^-56) for BatchNormalization's statistics (src/nn).
#pragma once

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace fmnist {

constexpr int kFixedBits = 32;                // fractional bits of the one-limb fixed point
constexpr double kFixedScale = 4294967296.0;  // 2^32
constexpr double kFixedRange = 2147483648.0;  // 2^31: int64 holds fixed-point magnitudes below this
static_assert(kFixedScale == double(std::uint64_t{1} << kFixedBits) && kFixedRange * kFixedScale == 0x1p63);

// The magnitude every one of `terms` addends must stay below so that their fixed-point sum fits
// in int64 whatever their signs: with 2^k >= terms, each term converts to less than `range` / 2^k
// in magnitude (the scaling by a power of two is exact, rounding to an integer only shrinks it, or
// adds 1 for floor, see kWideRange), and 2^k of them sum to less than 2^63. A power of two keeps
// the bound exact in double.
constexpr double fixed_limit(std::uint64_t terms, double range = kFixedRange) {
  return range / static_cast<double>(std::bit_ceil(terms < 1 ? 1 : terms));
}

// Whether v may be added with this limit: finite and below it in magnitude (false for NaN).
inline bool fits_fixed(double v, double limit) { return std::abs(v) < limit; }

// v * 2^bits truncated toward zero: the one conversion of every sum.
inline std::int64_t to_fixed(double v, int bits) { return static_cast<std::int64_t>(std::ldexp(v, bits)); }

// Adds x (n) to sum (n) with kFixedBits; returns false if some x does not fit `limit` (that entry
// then adds nothing).
inline bool add_fixed(const float* x, std::int64_t* sum, std::size_t n, double limit) {
  bool ok = true;
  for (std::size_t i = 0; i < n; ++i) {
    const double v = static_cast<double>(x[i]);
    const bool fine = fits_fixed(v, limit);
    ok &= fine;
    sum[i] += to_fixed(fine ? v : 0.0, kFixedBits);
  }
  return ok;
}

inline bool add_fixed(double x, std::int64_t* sum, double limit) {
  const bool fine = fits_fixed(x, limit);
  *sum += to_fixed(fine ? x : 0.0, kFixedBits);
  return fine;
}

inline double from_fixed(std::int64_t v) { return std::ldexp(static_cast<double>(v), -kFixedBits); }

// The wide form, with double's precision: v as hi = floor(v * 2^kWideHighBits) and lo = the rest
// in kWideLowBits more bits (0 <= lo < 2^kWideLowBits), each limb summed on its own: 2^-56
// resolution. floor (not truncation) keeps lo non-negative, so a limb's terms may grow by one:
// the range leaves a bit for it, and lo's sum stays below 2^(40 + k) for 2^k terms.
constexpr int kWideHighBits = 16;
constexpr int kWideLowBits = 40;
constexpr double kWideRange = 0x1p62 / double(std::uint64_t{1} << kWideHighBits);  // 2^46

// Adds v to the limbs (hi, lo); false (and nothing added) if v does not fit `limit`
// (fixed_limit(terms, kWideRange)).
inline bool add_fixed_wide(double v, std::int64_t& hi, std::int64_t& lo, double limit) {
  const bool fine = fits_fixed(v, limit);
  const double scaled = std::ldexp(fine ? v : 0.0, kWideHighBits), whole = std::floor(scaled);
  hi += static_cast<std::int64_t>(whole);
  lo += to_fixed(scaled - whole, kWideLowBits);
  return fine;
}

inline double from_fixed_wide(std::int64_t hi, std::int64_t lo) {
  return std::ldexp(double(hi), -kWideHighBits) + std::ldexp(double(lo), -kWideHighBits - kWideLowBits);
}

}  // namespace fmnist
