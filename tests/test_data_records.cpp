// Tests of the readers for prediction (read_csv_records, read_idx_records, idx_magic): a CSV
// with or without the label column, its width decided by the first line and held to every row;
// IDX images of any size, with or without labels. Training's readers keep their stricter rules.
#include "test_data_helpers.hpp"

namespace fmnist::test {
namespace {

const std::string kIdx = kFixtures + "/idx";
const std::string kCsv = kFixtures + "/csv";

// The Kaggle test CSV fixture without its label column (and header "pixel1,...", or none).
std::string without_labels(bool header) {
  const std::string text = read_bytes(kCsv + "/fashion-mnist_test.csv");
  std::string out;
  bool first = true;
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t end = text.find('\n', at);
    const std::string line = text.substr(at, end - at);
    if (!first || header) out += line.substr(line.find(',') + 1) + "\n";
    first = false;
    at = end == std::string::npos ? text.size() : end + 1;
  }
  return out;
}

TEST(CsvRecords, WithTheLabelColumnTheyMatchReadCsv) {
  const Dataset d = read_csv(kCsv + "/fashion-mnist_test.csv");
  const ImageRecords r = read_csv_records(kCsv + "/fashion-mnist_test.csv");
  EXPECT_EQ(r.rows, 28);
  EXPECT_EQ(r.cols, 28);
  EXPECT_EQ(r.size(), 20u);
  EXPECT_EQ(r.pixels, d.images);
  EXPECT_EQ(r.labels, d.labels);
}

TEST(CsvRecords, WithoutTheLabelColumnThePixelsAreTheSameAndThereAreNoLabels) {
  const Dataset d = read_csv(kCsv + "/fashion-mnist_test.csv");
  TempDir dir;
  for (bool header : {true, false}) {
    write_file(dir.file("x.csv"), without_labels(header));
    const ImageRecords r = read_csv_records(dir.file("x.csv"));
    EXPECT_EQ(r.size(), 20u) << header;
    EXPECT_EQ(r.pixels, d.images) << header;
    EXPECT_TRUE(r.labels.empty()) << header;
  }
}

TEST(CsvRecords, TheFirstLineSetsTheWidthOfEveryRow) {
  TempDir dir;
  const std::string path = dir.file("mixed.csv");
  const std::string unlabelled = without_labels(false);
  const std::string labelled = read_bytes(kCsv + "/train_noheader.csv");
  const std::string labelled_row = labelled.substr(0, labelled.find('\n') + 1);
  write_file(path, unlabelled.substr(0, unlabelled.find('\n') + 1) + labelled_row);
  EXPECT_EQ(expect_error(Exit::data, [&] { read_csv_records(path); }), path + ":2: expected 784 fields, found 785");
  write_file(path, labelled_row + unlabelled.substr(0, unlabelled.find('\n') + 1));
  EXPECT_EQ(expect_error(Exit::data, [&] { read_csv_records(path); }), path + ":2: expected 785 fields, found 784");
  write_file(path, "1,2,3\n");
  EXPECT_EQ(expect_error(Exit::data, [&] { read_csv_records(path); }),
            path + ":1: row has 3 fields, expected 785 (label and 784 pixels) or 784 (pixels only)");
  write_file(path, "a,b\n1,2\n");
  EXPECT_EQ(expect_error(Exit::data, [&] { read_csv_records(path); }),
            path + ":1: header has 2 fields, expected 785 (label and 784 pixels) or 784 (pixels only)");
}

TEST(CsvRecords, TrainingStillNeedsTheLabelColumn) {
  TempDir dir;
  write_file(dir.file("x.csv"), without_labels(false));
  EXPECT_EQ(expect_error(Exit::data, [&] { read_csv(dir.file("x.csv")); }), dir.file("x.csv") + ":1: expected 785 fields, found 784");
}

TEST(IdxRecords, WithAndWithoutLabels) {
  const Dataset d = read_idx(kIdx + "/t10k-images-idx3-ubyte.gz", kIdx + "/t10k-labels-idx1-ubyte.gz");
  const ImageRecords labelled = read_idx_records(kIdx + "/t10k-images-idx3-ubyte.gz", kIdx + "/t10k-labels-idx1-ubyte");
  EXPECT_EQ(labelled.pixels, d.images);
  EXPECT_EQ(labelled.labels, d.labels);
  const ImageRecords bare = read_idx_records(kIdx + "/t10k-images-idx3-ubyte", "");
  EXPECT_EQ(bare.pixels, d.images);
  EXPECT_TRUE(bare.labels.empty());
  EXPECT_EQ(bare.size(), d.size());
}

TEST(IdxRecords, ImagesOfAnotherSizeAreReadAsTheyAre) {
  TempDir dir;
  write_file(dir.file("images"), idx_images(3, 3 * 32 * 20, 32, 20));
  const ImageRecords r = read_idx_records(dir.file("images"), "");
  EXPECT_EQ(r.rows, 32);
  EXPECT_EQ(r.cols, 20);
  EXPECT_EQ(r.size(), 3u);
  EXPECT_EQ(r.pixels[1], 7);
  write_file(dir.file("flat"), idx_images(3, 0, 0, 28));
  EXPECT_EQ(expect_error(Exit::data, [&] { read_idx_records(dir.file("flat"), ""); }),
            dir.file("flat") + ": images are 0x28, expected 1 to 32768 pixels a side");
  write_file(dir.file("labels"), idx_labels({1, 2}));
  EXPECT_EQ(expect_error(Exit::data, [&] { read_idx_records(dir.file("images"), dir.file("labels")); }),
            dir.file("images") + ": holds 3 images, but " + dir.file("labels") + " holds 2 labels");
}

TEST(IdxMagic, TellsImagesFromLabelsAndOtherFiles) {
  EXPECT_EQ(idx_magic(kIdx + "/t10k-images-idx3-ubyte.gz"), 0x803u);
  EXPECT_EQ(idx_magic(kIdx + "/t10k-labels-idx1-ubyte"), 0x801u);
  TempDir dir;
  write_file(dir.file("short"), "ab");
  EXPECT_EQ(idx_magic(dir.file("short")), 0u);
  EXPECT_TRUE(contains(expect_error(Exit::data, [&] { idx_magic(dir.file("absent")); }), dir.file("absent") + ": cannot open"));
}

}  // namespace
}  // namespace fmnist::test
