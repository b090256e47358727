// The fixed-point helpers of the exact allreduce: NaN and values at or beyond the limits add
// nothing and are reported; the bound keeps the largest allowed sum inside int64 (the sanitizer
// run would catch an overflow); the sum does not depend on the order or grouping of its terms.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "exact_sum.hpp"

namespace fmnist {
namespace {

TEST(FixedLimit, IsAnExactPowerOfTwoDividingTheRange) {
  EXPECT_EQ(fixed_limit(1), 2147483648.0);
  EXPECT_EQ(fixed_limit(0), 2147483648.0);
  EXPECT_EQ(fixed_limit(3), 536870912.0);  // rounded up to 4 terms
  EXPECT_EQ(fixed_limit(1024), 2097152.0);
  EXPECT_EQ(fixed_limit(1025), 1048576.0);
  EXPECT_EQ(kStepLimit, fixed_limit(kMaxMicroBatches));
}

TEST(AddFixed, RejectsNanInfinityAndValuesAtTheLimit) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const float at_limit = static_cast<float>(kStepLimit);
  for (float bad : {nan, inf, -inf, at_limit, -at_limit, std::numeric_limits<float>::max(),
                    -std::numeric_limits<float>::max()}) {
    std::int64_t sum = 5;
    EXPECT_FALSE(add_fixed(&bad, &sum, 1)) << bad;
    EXPECT_EQ(sum, 5) << "a rejected value must add nothing: " << bad;
    std::int64_t loss = 7;
    EXPECT_FALSE(add_fixed(static_cast<double>(bad), &loss)) << bad;
    EXPECT_EQ(loss, 7);
  }
  std::int64_t loss = 0;
  EXPECT_FALSE(add_fixed(std::numeric_limits<double>::max(), &loss));
  EXPECT_FALSE(add_fixed(1e300, &loss, fixed_limit(1)));
  EXPECT_EQ(loss, 0);
}

TEST(AddFixed, KeepsTheFineEntriesWhenOneIsBad) {
  const float x[3] = {1.5f, std::numeric_limits<float>::quiet_NaN(), -0.25f};
  std::int64_t sum[3] = {0, 0, 0};
  EXPECT_FALSE(add_fixed(x, sum, 3));
  EXPECT_EQ(from_fixed(sum[0]), 1.5);
  EXPECT_EQ(sum[1], 0);
  EXPECT_EQ(from_fixed(sum[2]), -0.25);
}

TEST(AddFixed, TheLargestAllowedSumFitsInInt64) {
  // kMaxMicroBatches terms just below the limit, both signs: no overflow (UBSan would catch it)
  // and the value comes back to within the resolution.
  const float largest = std::nextafter(static_cast<float>(kStepLimit), 0.0f);
  for (float sign : {1.0f, -1.0f}) {
    const float v = sign * largest;
    std::int64_t sum = 0;
    for (int i = 0; i < kMaxMicroBatches; ++i) ASSERT_TRUE(add_fixed(&v, &sum, 1));
    EXPECT_EQ(from_fixed(sum), static_cast<double>(v) * kMaxMicroBatches);
    EXPECT_LT(std::abs(from_fixed(sum)), kFixedRange);
  }
  // The same for the double (loss) form, over a non-power-of-two count of evaluation terms.
  const std::uint64_t terms = 18000 / 64 + 1;
  const double limit = fixed_limit(terms);
  const double v = std::nextafter(limit, 0.0);
  std::int64_t sum = 0;
  for (std::uint64_t i = 0; i < terms; ++i) ASSERT_TRUE(add_fixed(v, &sum, limit));
  EXPECT_GT(sum, 0);
  EXPECT_NEAR(from_fixed(sum), v * static_cast<double>(terms), 1e-6 * v * static_cast<double>(terms));
}

TEST(AddFixed, SumIsIndependentOfOrderAndGrouping) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> value(-1000.0f, 1000.0f);
  std::vector<float> x(512);
  for (float& v : x) v = value(rng) * std::pow(10.0f, static_cast<float>(rng() % 7) - 3.0f);
  std::int64_t forward = 0;
  for (float v : x) add_fixed(&v, &forward, 1);
  for (int trial = 0; trial < 5; ++trial) {
    std::shuffle(x.begin(), x.end(), rng);
    // Partial sums of a random cut, then summed: what ranks and the allreduce do.
    const std::size_t cut = rng() % x.size();
    std::int64_t a = 0, b = 0;
    for (std::size_t i = 0; i < cut; ++i) add_fixed(&x[i], &a, 1);
    for (std::size_t i = cut; i < x.size(); ++i) add_fixed(&x[i], &b, 1);
    EXPECT_EQ(a + b, forward);
  }
  std::int64_t reversed = 0;
  for (auto it = x.rbegin(); it != x.rend(); ++it) add_fixed(&*it, &reversed, 1);
  EXPECT_EQ(reversed, forward);
}

TEST(AddFixed, ResolutionIsTwoToTheMinus32) {
  std::int64_t sum = 0;
  const double tiny = 1.0 / kFixedScale;
  EXPECT_TRUE(add_fixed(tiny, &sum));
  EXPECT_EQ(sum, 1);
  EXPECT_TRUE(add_fixed(tiny / 2, &sum));  // truncated toward zero
  EXPECT_EQ(sum, 1);
  EXPECT_TRUE(add_fixed(-tiny, &sum));
  EXPECT_EQ(sum, 0);
}

}  // namespace
}  // namespace fmnist
