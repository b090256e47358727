// Tests of the Kaggle CSV reader: the fixture CSVs must give the same bytes as the IDX
// fixtures they were cut from (with header, CRLF, without header), and each malformed input
// must throw Error(Exit::data) naming the file and the 1-based line.
#include "test_data_helpers.hpp"

namespace fmnist::test {
namespace {

const std::string kCsv = kFixtures + "/csv";
const std::string kIdx = kFixtures + "/idx";

// Samples [first, first + count) of `d`.
Dataset slice(const Dataset& d, std::uint32_t first, std::uint32_t count) {
  std::vector<std::uint32_t> indices(count);
  std::iota(indices.begin(), indices.end(), first);
  return subset(d, indices);
}

void expect_same(const Dataset& a, const Dataset& b) {
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_EQ(a.images, b.images);
}

std::string header() {
  std::string h = "label";
  for (int i = 1; i <= kImagePixels; ++i) h += ",pixel" + std::to_string(i);
  return h;
}

// A data row: the label, then 784 pixels equal to `pixel`.
std::string row(const std::string& label = "3", const std::string& pixel = "0") {
  std::string r = label;
  for (int i = 0; i < kImagePixels; ++i) r += "," + pixel;
  return r;
}

TEST(CsvFixtures, MatchTheIdxImagesTheyWereCutFrom) {
  const TrainTest idx = read_idx_dir(kIdx);
  const Dataset train = read_csv(kCsv + "/fashion-mnist_train.csv");
  expect_same(train, slice(idx.train, 0, 30));
  EXPECT_EQ(pixel_sum(train, 0), 76247u);
  expect_same(read_csv(kCsv + "/fashion-mnist_test.csv"), slice(idx.test, 0, 20));
}

TEST(CsvFixtures, CrlfAndHeaderlessFilesAreAccepted) {
  const TrainTest idx = read_idx_dir(kIdx);
  expect_same(read_csv(kCsv + "/train_crlf.csv"), slice(idx.train, 0, 10));
  expect_same(read_csv(kCsv + "/train_noheader.csv"), slice(idx.train, 40, 10));
}

class CsvInput : public ::testing::Test {
 protected:
  Dataset read(const std::string& text) {
    write_file(path, text);
    return read_csv(path);
  }
  // Reads `text`, expects an error and checks it starts with "<path>:<line>: ".
  std::string error_at(const std::string& text, int line) {
    write_file(path, text);
    const std::string m = expect_error(Exit::data, [&] { read_csv(path); });
    const std::string prefix = path + ":" + std::to_string(line) + ": ";
    EXPECT_TRUE(m.starts_with(prefix)) << m;
    return m.substr(std::min(m.size(), prefix.size()));
  }
  TempDir dir;
  std::string path = dir.file("train.csv");
};

TEST_F(CsvInput, AcceptsHeaderAndTrailingNewlineVariants) {
  EXPECT_EQ(read(header() + "\n" + row("1") + "\n" + row("2", "255") + "\n").size(), 2u);
  EXPECT_EQ(read(header() + "\r\n" + row("1") + "\r\n" + row("2") + "\r\n\r\n").size(), 2u);
  EXPECT_EQ(read(row("1") + "\n" + row("2")).size(), 2u);  // no header, no final newline
  const Dataset d = read("\xEF\xBB\xBF" + header() + "\n" + row("9", "128") + "\n");  // UTF-8 BOM
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d.labels[0], 9);
  EXPECT_EQ(d.image(0)[783], 128);
}

TEST_F(CsvInput, ReadsGzipCompressedCsv) {
  write_gz(path, header() + "\n" + row("4", "7") + "\n");
  const Dataset d = read_csv(path);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d.image(0)[0], 7);
}

TEST_F(CsvInput, WrongFieldCount) {
  std::string short_row = row();
  short_row.resize(short_row.rfind(','));
  EXPECT_EQ(error_at(header() + "\n" + row() + "\n" + short_row + "\n", 3), "expected 785 fields, found 784");
  EXPECT_EQ(error_at(row() + ",0\n", 1), "expected 785 fields, found 786");
  EXPECT_EQ(error_at(row() + ",\n", 1), "expected 785 fields, found 786");
}

TEST_F(CsvInput, NonNumericField) {
  std::string bad = row();
  bad.replace(bad.find(",0,"), 3, ",0,abc,");  // field 3 (pixel2)
  EXPECT_EQ(error_at(header() + "\n" + bad + "\n", 2), "field 3 ('abc') is not an integer");
  EXPECT_EQ(error_at(row("1", "") + "\n", 1), "field 2 ('') is not an integer");
  EXPECT_EQ(error_at(row("1", "2.0") + "\n", 1), "field 2 ('2.0') is not an integer");
}

TEST_F(CsvInput, LabelOutOfRange) {
  EXPECT_EQ(error_at(header() + "\n" + row() + "\n" + row("10") + "\n", 3), "label 10 out of range 0..9");
  EXPECT_EQ(error_at(row("-1") + "\n", 1), "label -1 out of range 0..9");
}

TEST_F(CsvInput, PixelOutOfRange) {
  std::string bad = row();
  bad.replace(bad.find(",0,") + 10 * 2, 3, ",256,");  // field 12 (pixel11)
  EXPECT_EQ(error_at(row() + "\n" + bad + "\n", 2), "pixel 256 out of range 0..255 (field 12)");
  EXPECT_EQ(error_at(row("1", "-3") + "\n", 1), "pixel -3 out of range 0..255 (field 2)");
  EXPECT_EQ(error_at(row("1", "99999999999999") + "\n", 1), "pixel 99999999999999 out of range 0..255 (field 2)");
}

TEST_F(CsvInput, BadHeader) {
  EXPECT_EQ(error_at(header().substr(0, header().rfind(',')) + "\n" + row() + "\n", 1),
            "header has 784 columns, expected 785 (label,pixel1,...,pixel784)");
}

TEST_F(CsvInput, BlankLineInTheMiddle) {
  EXPECT_EQ(error_at(header() + "\n" + row() + "\n\n" + row() + "\n", 3), "blank line in the middle of the data");
  EXPECT_EQ(error_at(header() + "\r\n" + row() + "\r\n\r\n" + row() + "\r\n", 3),
            "blank line in the middle of the data");
}

TEST_F(CsvInput, NoDataRows) {
  write_file(path, "");
  EXPECT_EQ(expect_error(Exit::data, [&] { read_csv(path); }), path + ": no data rows (empty file)");
  write_file(path, header() + "\n");
  EXPECT_EQ(expect_error(Exit::data, [&] { read_csv(path); }), path + ": no data rows (only a header)");
}

TEST_F(CsvInput, MissingFile) {
  const std::string m = expect_error(Exit::data, [&] { read_csv(dir.file("absent.csv")); });
  EXPECT_TRUE(m.starts_with(dir.file("absent.csv") + ": cannot open")) << m;
}

}  // namespace
}  // namespace fmnist::test
