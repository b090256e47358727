// Tests of the IDX reader and read_idx_dir: the real fixtures (cut from Fashion-MNIST by
// data/make_fixtures.py), .gz against plain, and every malformed input we reject, each checked
// for Error(Exit::data) and a message that starts with the offending file's path.
#include "test_data_helpers.hpp"

namespace fmnist::test {
namespace {

const std::string kIdx = kFixtures + "/idx";

TEST(IdxFixtures, TrainingImagesHaveKnownLabelsAndPixels) {
  const Dataset d = read_idx(kIdx + "/train-images-idx3-ubyte.gz", kIdx + "/train-labels-idx1-ubyte.gz");
  ASSERT_EQ(d.size(), 300u);
  ASSERT_EQ(d.images.size(), 300u * kImagePixels);
  const std::vector<std::uint8_t> first{9, 0, 0, 3, 0, 2, 7, 2, 5, 5};
  EXPECT_EQ(std::vector<std::uint8_t>(d.labels.begin(), d.labels.begin() + 10), first);
  EXPECT_EQ(d.labels[299], 9);
  EXPECT_EQ(pixel_sum(d, 0), 76247u);  // values from numpy, see data/README.md
  EXPECT_EQ(pixel_sum(d, 1), 84598u);
  EXPECT_EQ(pixel_sum(d, 299), 58490u);
  EXPECT_EQ(d.image(0)[14 * 28 + 14], 217);
}

TEST(IdxFixtures, GzAndPlainGiveEqualBytes) {
  const Dataset gz = read_idx(kIdx + "/t10k-images-idx3-ubyte.gz", kIdx + "/t10k-labels-idx1-ubyte.gz");
  const Dataset plain = read_idx(kIdx + "/t10k-images-idx3-ubyte", kIdx + "/t10k-labels-idx1-ubyte");
  ASSERT_EQ(gz.size(), 100u);
  EXPECT_EQ(gz.images, plain.images);
  EXPECT_EQ(gz.labels, plain.labels);
  const std::vector<std::uint8_t> first{9, 2, 1, 1, 6, 1, 4, 6, 5, 7};
  EXPECT_EQ(std::vector<std::uint8_t>(gz.labels.begin(), gz.labels.begin() + 10), first);
  EXPECT_EQ(pixel_sum(gz, 0), 33456u);
  EXPECT_EQ(pixel_sum(gz, 99), 93257u);
}

TEST(IdxDir, ReadsTheFixtureFolder) {
  const TrainTest data = read_idx_dir(kIdx);
  EXPECT_EQ(data.train.size(), 300u);
  EXPECT_EQ(data.test.size(), 100u);
  EXPECT_EQ(fingerprint(data.train), 0x6dfc94b6631afe78ull);  // FNV-1a computed by numpy
  EXPECT_EQ(fingerprint(data.test), 0x863d6165b70b1f29ull);
}

TEST(IdxDir, PrefersGzAndFallsBackToPlain) {
  TempDir dir;
  write_gz(dir.file("train-images-idx3-ubyte.gz"), idx_images(3, 3 * kImagePixels));
  write_gz(dir.file("train-labels-idx1-ubyte.gz"), idx_labels({1, 2, 3}));
  write_file(dir.file("train-images-idx3-ubyte"), idx_images(2, 2 * kImagePixels));
  write_file(dir.file("train-labels-idx1-ubyte"), idx_labels({1, 2}));
  write_file(dir.file("t10k-images-idx3-ubyte"), idx_images(1, kImagePixels));
  write_file(dir.file("t10k-labels-idx1-ubyte"), idx_labels({7}));
  const TrainTest data = read_idx_dir(dir.path());
  EXPECT_EQ(data.train.size(), 3u);
  ASSERT_EQ(data.test.size(), 1u);
  EXPECT_EQ(data.test.labels[0], 7);
}

TEST(IdxDir, MissingFolderNamesTheExpectedFile) {
  const std::string dir = kFixtures + "/no_such_folder";
  const std::string m = expect_error(Exit::data, [&] { read_idx_dir(dir); });
  EXPECT_TRUE(m.starts_with(dir + "/train-images-idx3-ubyte.gz: cannot open")) << m;
  EXPECT_TRUE(contains(m, "does not exist")) << m;
}

TEST(IdxDir, MissingFileNamesTheExpectedFile) {
  TempDir dir;
  write_file(dir.file("train-images-idx3-ubyte"), idx_images(1, kImagePixels));
  write_file(dir.file("train-labels-idx1-ubyte"), idx_labels({1}));
  write_file(dir.file("t10k-images-idx3-ubyte"), idx_images(1, kImagePixels));
  const std::string m = expect_error(Exit::data, [&] { read_idx_dir(dir.path()); });
  EXPECT_TRUE(m.starts_with(dir.file("t10k-labels-idx1-ubyte.gz: cannot open"))) << m;
}

class IdxErrors : public ::testing::Test {
 protected:
  // Writes the two files and returns the error message of reading them.
  std::string read_error(const std::string& image_bytes, const std::string& label_bytes) {
    write_file(images, image_bytes);
    write_file(labels, label_bytes);
    return expect_error(Exit::data, [&] { read_idx(images, labels); });
  }
  TempDir dir;
  std::string images = dir.file("images.idx");
  std::string labels = dir.file("labels.idx");
};

TEST_F(IdxErrors, TruncatedImageData) {
  const std::string m = read_error(idx_images(3, 2 * kImagePixels + 100), idx_labels({1, 2, 3}));
  EXPECT_EQ(m, images + ": truncated: expected 2352 bytes of image data, found 1668");
}

TEST_F(IdxErrors, TrailingBytes) {
  const std::string m = read_error(idx_images(2, 2 * kImagePixels + 5), idx_labels({1, 2}));
  EXPECT_TRUE(m.starts_with(images + ": 5 trailing bytes")) << m;
}

TEST_F(IdxErrors, TruncatedHeader) {
  const std::string m = read_error(idx_images(2, 0).substr(0, 10), idx_labels({1, 2}));
  EXPECT_EQ(m, images + ": truncated header: expected 16 bytes, found 10");
}

TEST_F(IdxErrors, WrongMagic) {
  const std::string m = read_error(idx_labels({1, 2}), idx_labels({1, 2}));
  EXPECT_EQ(m, images + ": wrong magic 0x00000801, expected 0x00000803 (IDX images)");
  const std::string m2 = read_error(idx_images(2, 2 * kImagePixels), idx_images(2, 2 * kImagePixels));
  EXPECT_EQ(m2, labels + ": wrong magic 0x00000803, expected 0x00000801 (IDX labels)");
}

TEST_F(IdxErrors, WrongImageSize) {
  const std::string m = read_error(idx_images(1, 32 * 32, 32, 32), idx_labels({1}));
  EXPECT_EQ(m, images + ": images are 32x32, expected 28x28");
}

TEST_F(IdxErrors, ImageAndLabelCountsDiffer) {
  const std::string m = read_error(idx_images(3, 3 * kImagePixels), idx_labels({1, 2}));
  EXPECT_EQ(m, images + ": holds 3 images, but " + labels + " holds 2 labels");
}

TEST_F(IdxErrors, LabelOutOfRangeNamesTheRecord) {
  const std::string m = read_error(idx_images(3, 3 * kImagePixels), idx_labels({1, 2, 10}));
  EXPECT_EQ(m, labels + ": label 10 out of range 0..9 at record 2 (0-based)");
}

TEST_F(IdxErrors, EmptyFile) {
  const std::string m = read_error("", idx_labels({1}));
  EXPECT_TRUE(m.starts_with(images + ": empty file")) << m;
  const std::string m2 = read_error(idx_images(1, kImagePixels), "");
  EXPECT_TRUE(m2.starts_with(labels + ": empty file")) << m2;
}

TEST_F(IdxErrors, EmptyGz) {
  write_gz(images, "");
  write_file(labels, idx_labels({1}));
  const std::string m = expect_error(Exit::data, [&] { read_idx(images, labels); });
  EXPECT_TRUE(m.starts_with(images + ": gzip stream holds no data")) << m;
}

TEST_F(IdxErrors, TruncatedGz) {
  const std::string full = read_bytes(kIdx + "/t10k-images-idx3-ubyte.gz");
  write_file(images, full.substr(0, full.size() / 2));
  write_file(labels, read_bytes(kIdx + "/t10k-labels-idx1-ubyte"));
  const std::string m = expect_error(Exit::data, [&] { read_idx(images, labels); });
  EXPECT_TRUE(m.starts_with(images + ": corrupt or truncated gzip data")) << m;
}

TEST_F(IdxErrors, CorruptGz) {
  std::string bytes = read_bytes(kIdx + "/t10k-images-idx3-ubyte.gz");
  for (std::size_t i = bytes.size() / 3; i < bytes.size() / 3 + 64; ++i) bytes[i] = char(~bytes[i]);
  write_file(images, bytes);
  write_file(labels, read_bytes(kIdx + "/t10k-labels-idx1-ubyte"));
  const std::string m = expect_error(Exit::data, [&] { read_idx(images, labels); });
  EXPECT_TRUE(m.starts_with(images + ": ")) << m;
}

TEST_F(IdxErrors, MissingFile) {
  write_file(labels, idx_labels({1}));
  const std::string m = expect_error(Exit::data, [&] { read_idx(dir.file("nope.idx"), labels); });
  EXPECT_TRUE(m.starts_with(dir.file("nope.idx") + ": cannot open")) << m;
  const std::string m2 = expect_error(Exit::data, [&] { read_idx(images, dir.path()); });
  EXPECT_TRUE(m2.starts_with(dir.path() + ": cannot open")) << m2;
}

}  // namespace
}  // namespace fmnist::test
