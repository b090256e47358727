// Tests of the wide (two-limb) form of the shared fixed-point codec, which sums BatchNormalization's
// statistics: 2^-56 resolution rounding down, negatives through floor, the same limbs in any order
// or split (where double sums differ), refusals beyond the bound, no overflow at it with the most
// terms a step may have. The one-limb form: test_train_exact_sum.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "fmnist/exact_sum.hpp"
#include "fmnist/model.hpp"

namespace fmnist {
namespace {

constexpr double kLimit = fixed_limit(kNormMaxTerms, kWideRange);

struct Wide {
  std::int64_t hi = 0, lo = 0;
  bool add(double v) { return add_fixed_wide(v, hi, lo, kLimit); }
  double value() const { return from_fixed_wide(hi, lo); }
  bool operator==(const Wide&) const = default;
};

TEST(WideFixedPoint, BoundAndResolution) {
  EXPECT_EQ(kLimit, 0x1p36);  // 2^46 over 1024 terms
  EXPECT_EQ(kWideHighBits + kWideLowBits, 56);
  for (double v : {1.0 / 3, -1.0 / 3, 12345.678901234567, -0.1, 1e-20, -1e-20, 0.0}) {
    Wide w;
    ASSERT_TRUE(w.add(v)) << v;
    EXPECT_EQ(w.value(), std::floor(std::ldexp(v, 56)) / 0x1p56) << v;  // rounded down to 2^-56
    EXPECT_LE(w.value(), v);
    EXPECT_LT(v - w.value(), 0x1p-56) << v;
    EXPECT_GE(w.lo, 0) << v;  // floor keeps the low limb non-negative
  }
  Wide negative;
  negative.add(-1.5);
  EXPECT_EQ(negative.hi, -98304);  // -1.5 * 2^16
  EXPECT_EQ(negative.lo, 0);
}

TEST(WideFixedPoint, SameLimbsInAnyOrderOrSplit) {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> dist(-1e6, 1e6);
  std::vector<double> x(1000);
  for (double& v : x) v = dist(rng) * std::pow(10.0, double(rng() % 11) - 6);  // |v| < 1e10, below the bound
  Wide forward, reversed, a, b;
  double sum_forward = 0, sum_reversed = 0;
  for (double v : x) {
    ASSERT_TRUE(forward.add(v));
    sum_forward += v;
  }
  for (auto it = x.rbegin(); it != x.rend(); ++it) reversed.add(*it), sum_reversed += *it;
  for (std::size_t i = 0; i < x.size(); ++i) (i % 3 ? a : b).add(x[i]);
  EXPECT_EQ(forward, reversed);
  EXPECT_EQ((Wide{a.hi + b.hi, a.lo + b.lo}), forward);  // two ranks' partial sums, added
  EXPECT_NE(sum_forward, sum_reversed);  // the negative control: plain double sums depend on the order
  EXPECT_NEAR(forward.value(), sum_forward, 1e-9 * std::abs(sum_forward) + 1e-9);
}

TEST(WideFixedPoint, RefusesBeyondTheBoundAndFitsAtIt) {
  for (double bad : {kLimit, -kLimit, 1e300, std::numeric_limits<double>::infinity(),
                     std::numeric_limits<double>::quiet_NaN()}) {
    Wide w;
    EXPECT_FALSE(w.add(bad)) << bad;
    EXPECT_EQ(w, Wide{}) << bad;  // nothing added
  }
  for (double v : {std::nextafter(kLimit, 0.0), -std::nextafter(kLimit, 0.0)}) {
    Wide w;
    for (std::size_t i = 0; i < kNormMaxTerms; ++i) ASSERT_TRUE(w.add(v));
    EXPECT_EQ(w.value(), v * double(kNormMaxTerms)) << v;  // exact: no limb overflowed
  }
}

}  // namespace
}  // namespace fmnist
