// Tests of subset, load_batch (bytes to [0, 1] floats, in index order) and fingerprint, and,
// when Debian's dataset-fashion-mnist is installed, a full read of the real data and its split.
#include <algorithm>
#include <chrono>
#include <filesystem>

#include "test_data_helpers.hpp"

namespace fmnist::test {
namespace {

Dataset fixture_train() {
  return read_idx(kFixtures + "/idx/train-images-idx3-ubyte.gz", kFixtures + "/idx/train-labels-idx1-ubyte.gz");
}

TEST(Subset, KeepsTheOrderOfTheIndices) {
  const Dataset d = fixture_train();
  const Dataset s = subset(d, {299, 0, 5});
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s.labels, (std::vector<std::uint8_t>{d.labels[299], d.labels[0], d.labels[5]}));
  EXPECT_TRUE(std::equal(d.image(299), d.image(299) + kImagePixels, s.image(0)));
  EXPECT_TRUE(std::equal(d.image(5), d.image(5) + kImagePixels, s.image(2)));
}

template <typename T>
void check_batch(const Dataset& d) {
  const std::vector<std::uint32_t> indices{17, 3, 299};
  std::vector<T> x(indices.size() * kImagePixels, T(-1));  // (3, 28, 28, 1)
  std::vector<std::uint8_t> y(indices.size());
  load_batch<T>(d, indices.data(), indices.size(), x.data(), y.data());
  for (std::size_t i = 0; i < indices.size(); ++i) {
    EXPECT_EQ(y[i], d.labels[indices[i]]);
    for (int p = 0; p < kImagePixels; ++p) {
      ASSERT_EQ(x[i * kImagePixels + p], T(d.image(indices[i])[p]) / T(255)) << "sample " << i << " pixel " << p;
    }
  }
  EXPECT_EQ(*std::max_element(x.begin(), x.end()), T(1));  // these images contain 255
  EXPECT_EQ(*std::min_element(x.begin(), x.end()), T(0));
}

TEST(LoadBatch, ScalesPixelsByOneOver255) {
  const Dataset d = fixture_train();
  check_batch<float>(d);
  check_batch<double>(d);
}

TEST(LoadBatch, RejectsAnIndexOutOfRange) {
  const Dataset d = fixture_train();
  const std::uint32_t index = 300;
  std::vector<float> x(kImagePixels);
  std::uint8_t y = 0;
  EXPECT_TRUE(contains(expect_error(Exit::internal, [&] { load_batch<float>(d, &index, 1, x.data(), &y); }),
                       "sample index 300 out of range (300 samples)"));
  EXPECT_TRUE(contains(expect_error(Exit::internal, [&] { subset(d, {0, 300}); }), "sample index 300 out of range"));
}

TEST(Fingerprint, SeesEveryLabelAndPixel) {
  const Dataset d = fixture_train();
  const std::uint64_t base = fingerprint(d);
  EXPECT_EQ(base, fingerprint(fixture_train()));
  Dataset changed = d;
  changed.images[123456] ^= 1;
  EXPECT_NE(fingerprint(changed), base);
  changed = d;
  changed.labels[299] = (changed.labels[299] + 1) % kNumClasses;
  EXPECT_NE(fingerprint(changed), base);
  EXPECT_EQ(fingerprint(Dataset{}), fingerprint(subset(d, {})));
  EXPECT_NE(fingerprint(Dataset{}), fingerprint(subset(d, {0})));
}

TEST(RealData, ReadsTheWholeDebianDataset) {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (!std::filesystem::exists(dir + "/train-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << dir << " not installed (Debian package dataset-fashion-mnist)";
  }
  const auto start = std::chrono::steady_clock::now();
  const TrainTest data = read_idx_dir(dir);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  RecordProperty("read_seconds", std::to_string(seconds));
  ASSERT_EQ(data.train.size(), 60000u);
  ASSERT_EQ(data.test.size(), 10000u);
  std::vector<int> train_counts(kNumClasses), test_counts(kNumClasses);
  for (std::uint8_t l : data.train.labels) ++train_counts[l];
  for (std::uint8_t l : data.test.labels) ++test_counts[l];
  EXPECT_EQ(train_counts, std::vector<int>(kNumClasses, 6000));
  EXPECT_EQ(test_counts, std::vector<int>(kNumClasses, 1000));
  EXPECT_EQ(subset(data.train, {0, 1, 2}).images, subset(fixture_train(), {0, 1, 2}).images);
  const Split split = train_test_split(60000, 0.3, 42);
  EXPECT_EQ(subset(data.train, split.train).size(), 42000u);
}

}  // namespace
}  // namespace fmnist::test
