// Tests of the split and the shuffles: the tutorial's published first indices, numpy's own
// permutations and sklearn-style splits recorded in tests/fixtures/split_reference.txt
// (written by data/make_fixtures.py), and the properties of the per-epoch permutation.
#include <algorithm>
#include <sstream>

#include "test_data_helpers.hpp"

namespace fmnist::test {
namespace {

std::vector<std::uint32_t> head(const std::vector<std::uint32_t>& v, std::size_t n) {
  return {v.begin(), v.begin() + static_cast<std::ptrdiff_t>(std::min(n, v.size()))};
}

bool is_permutation_of_range(std::vector<std::uint32_t> p) {
  std::sort(p.begin(), p.end());
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] != i) return false;
  }
  return true;
}

TEST(Split, TutorialSplitStartsWithThePublishedIndices) {
  const Split s = train_test_split(60000, 0.3, 42);
  ASSERT_EQ(s.validation.size(), 18000u);
  ASSERT_EQ(s.train.size(), 42000u);
  EXPECT_EQ(head(s.validation, 5), (std::vector<std::uint32_t>{12628, 37730, 39991, 8525, 8279}));
  EXPECT_EQ(head(s.train, 5), (std::vector<std::uint32_t>{918, 17141, 15558, 27327, 11606}));
}

// Each reference line: "permutation N SEED OFFSET : values", "size N TEST_SIZE SEED : NV NT",
// or "slice N TEST_SIZE SEED PART OFFSET : values".
TEST(Split, MatchesNumpyReference) {
  std::istringstream file(read_bytes(kFixtures + "/split_reference.txt"));
  int checked = 0;
  for (std::string line; std::getline(file, line);) {
    if (line.empty() || line[0] == '#') continue;
    const std::size_t colon = line.find(" : ");
    ASSERT_NE(colon, std::string::npos) << line;
    std::istringstream key(line.substr(0, colon));
    std::istringstream rest(line.substr(colon + 3));
    std::vector<std::uint32_t> values;
    for (std::uint32_t v; rest >> v;) values.push_back(v);
    std::string kind;
    std::uint32_t n = 0;
    key >> kind >> n;
    SCOPED_TRACE(line.substr(0, colon));
    if (kind == "permutation") {
      std::uint32_t seed = 0;
      std::size_t offset = 0;
      key >> seed >> offset;
      const std::vector<std::uint32_t> p = legacy_permutation(n, seed);
      ASSERT_LE(offset + values.size(), p.size());
      EXPECT_TRUE(std::equal(values.begin(), values.end(), p.begin() + static_cast<std::ptrdiff_t>(offset)));
    } else {
      double test_size = 0;
      std::uint32_t seed = 0;
      key >> test_size >> seed;
      const Split s = train_test_split(n, test_size, seed);
      if (kind == "size") {
        EXPECT_EQ(values, (std::vector<std::uint32_t>{std::uint32_t(s.validation.size()), std::uint32_t(s.train.size())}));
      } else {
        std::string part;
        std::size_t offset = 0;
        key >> part >> offset;
        const std::vector<std::uint32_t>& v = part == "train" ? s.train : s.validation;
        ASSERT_LE(offset + values.size(), v.size());
        EXPECT_TRUE(std::equal(values.begin(), values.end(), v.begin() + static_cast<std::ptrdiff_t>(offset)));
      }
    }
    ++checked;
  }
  EXPECT_GE(checked, 20);
}

TEST(Split, RejectsBadFractionsAndTinyInputs) {
  for (double bad : {0.0, 1.0, -0.1, 1.5}) {
    expect_error(Exit::usage, [&] { train_test_split(100, bad, 42); });
  }
  EXPECT_TRUE(contains(expect_error(Exit::data, [] { train_test_split(1, 0.3, 42); }), "training part would be empty"));
  EXPECT_EQ(train_test_split(2, 0.3, 42).train.size(), 1u);
}

TEST(EpochPermutation, DeterministicAndDifferentPerEpochAndSeed) {
  const auto p = epoch_permutation(42000, 7, 3);
  EXPECT_TRUE(is_permutation_of_range(p));
  EXPECT_EQ(p, epoch_permutation(42000, 7, 3));
  EXPECT_NE(p, epoch_permutation(42000, 7, 4));
  EXPECT_NE(p, epoch_permutation(42000, 8, 3));
  EXPECT_NE(p, epoch_permutation(42000, 7 + (std::uint64_t{1} << 32), 3));  // high bits count
  EXPECT_NE(p, epoch_permutation(42000, 7, 3 + (std::uint64_t{1} << 32)));
  EXPECT_TRUE(epoch_permutation(0, 1, 1).empty());
  EXPECT_EQ(epoch_permutation(1, 1, 1), std::vector<std::uint32_t>{0});
}

TEST(LegacyPermutation, IsAPermutation) {
  EXPECT_TRUE(legacy_permutation(0, 42).empty());
  EXPECT_TRUE(is_permutation_of_range(legacy_permutation(60000, 42)));
}

}  // namespace
}  // namespace fmnist::test
