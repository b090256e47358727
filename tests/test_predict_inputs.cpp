// Tests of read_inputs, the INPUTs of --predict: IDX files labelled by the labels file beside
// them or right after them, CSVs with and without the label column, folders whose class
// subfolders label their pictures, the order of everything, and each bad input as
// Error(Exit::data) naming the file (and the line or record).
#include <filesystem>

#include "test_predict_helpers.hpp"

namespace fmnist::test {
namespace {

namespace fs = std::filesystem;

std::vector<int> as_ints(const std::vector<std::uint8_t>& labels) { return {labels.begin(), labels.end()}; }

TEST(Inputs, IdxFilesTakeTheirLabelsFromBesideThem) {
  const Dataset& d = fixture_test_set();
  for (const std::string name : {"/t10k-images-idx3-ubyte.gz", "/t10k-images-idx3-ubyte"}) {
    const ImageSet set = read_inputs({kIdx + name}, kTutorialInput, Invert::automatic);
    EXPECT_EQ(set.pixels, d.images) << name;
    EXPECT_EQ(set.labels, as_ints(d.labels)) << name;
    ASSERT_EQ(set.sources.size(), 100u);
    EXPECT_EQ(set.sources[0], kIdx + name + ":0");
    EXPECT_EQ(set.sources[99], kIdx + name + ":99");
  }
}

TEST(Inputs, AnIdxLabelsFileRightAfterItsImagesLabelsThem) {
  TempDir dir;
  fs::copy_file(kIdx + "/t10k-images-idx3-ubyte.gz", dir.file("shoes.idx"));
  fs::copy_file(kIdx + "/t10k-labels-idx1-ubyte", dir.file("classes.idx"));
  const ImageSet bare = read_inputs({dir.file("shoes.idx")}, kTutorialInput, Invert::automatic);
  EXPECT_EQ(bare.labels, std::vector<int>(100, -1));
  const ImageSet labelled = read_inputs({dir.file("shoes.idx"), dir.file("classes.idx")}, kTutorialInput, Invert::automatic);
  EXPECT_EQ(labelled.labels, as_ints(fixture_test_set().labels));
  EXPECT_EQ(labelled.size(), 100u);
  EXPECT_EQ(expect_error(Exit::data, [&] { read_inputs({dir.file("classes.idx")}, kTutorialInput, Invert::automatic); }),
            dir.file("classes.idx") + ": an IDX labels file: give it right after its IDX images file");
}

TEST(Inputs, CsvWithAndWithoutTheLabelColumn) {
  TempDir dir;
  const std::string csv = read_text(kCsv + "/fashion-mnist_test.csv");
  std::string bare;  // the same without the label column
  for (std::size_t at = 0; at < csv.size();) {
    const std::size_t end = csv.find('\n', at);
    bare += csv.substr(csv.find(',', at) + 1, end - csv.find(',', at));
    at = end + 1;
  }
  write_text(dir.file("bare.csv"), bare);
  const ImageSet set = read_inputs({kCsv + "/fashion-mnist_test.csv", dir.file("bare.csv")}, kTutorialInput, Invert::no);
  ASSERT_EQ(set.size(), 40u);
  std::vector<int> labels = as_ints(fixture_test_set().labels);  // the CSV holds the first 20 test images
  labels.resize(20);
  labels.resize(40, -1);
  EXPECT_EQ(set.labels, labels);
  EXPECT_TRUE(std::equal(set.pixels.begin(), set.pixels.begin() + 20 * kImagePixels, set.pixels.begin() + 20 * kImagePixels));
  EXPECT_EQ(set.sources[20], dir.file("bare.csv") + ":0");
}

TEST(Inputs, FoldersGivePicturesInNameOrderLabelledByClassSubfolders) {
  TempDir dir;
  for (const char* sub : {"7", "Ankle boot", "t-shirt_top", "holiday"}) fs::create_directory(dir.file(sub));
  write_picture(dir, "b.png", fixture_image(0));
  write_picture(dir, "a.jpg", fixture_image(1));
  write_text(dir.file("notes.txt"), "not a picture");
  write_picture(dir, "7/x.png", fixture_image(2));
  write_picture(dir, "Ankle boot/y.PNG", fixture_image(3));
  write_picture(dir, "t-shirt_top/z.pgm", fixture_image(4));
  write_picture(dir, "holiday/skipped.png", fixture_image(5));
  const ImageSet set = read_inputs({dir.path()}, kTutorialInput, Invert::automatic);
  const std::vector<std::string> sources = {dir.file("7/x.png"), dir.file("Ankle boot/y.PNG"), dir.file("a.jpg"),
                                            dir.file("b.png"), dir.file("t-shirt_top/z.pgm")};
  EXPECT_EQ(set.sources, sources);
  EXPECT_EQ(set.labels, (std::vector<int>{7, 9, -1, -1, 0}));
  EXPECT_TRUE(std::equal(set.pixels.begin() + 3 * kImagePixels, set.pixels.begin() + 4 * kImagePixels,
                         fixture_test_set().image(0)));
}

TEST(Inputs, MixedInputsKeepTheirOrder) {
  TempDir dir;
  const std::string png = write_picture(dir, "one.png", fixture_image(6));
  const ImageSet set = read_inputs({png, kCsv + "/fashion-mnist_test.csv", png}, kTutorialInput, Invert::automatic);
  ASSERT_EQ(set.size(), 22u);
  EXPECT_EQ(set.sources.front(), png);
  EXPECT_EQ(set.sources.back(), png);
  EXPECT_EQ(set.labels.front(), -1);
  EXPECT_EQ(set.labels[1], fixture_test_set().labels[0]);
}

TEST(Inputs, BadInputsNameTheFileAndTheLineOrRecord) {
  TempDir dir;
  const auto message = [&](const std::vector<std::string>& inputs, const ModelInput& in = kTutorialInput) {
    return expect_error(Exit::data, [&] { read_inputs(inputs, in, Invert::automatic); });
  };
  EXPECT_EQ(message({dir.file("absent.png")}), dir.file("absent.png") + ": cannot open (no such file or folder)");
  write_text(dir.file("wide.csv"), "1," + read_text(kCsv + "/train_noheader.csv"));
  EXPECT_EQ(message({dir.file("wide.csv")}), dir.file("wide.csv") + ":1: row has 786 fields, expected 785 (label and 784 pixels) or 784 (pixels only)");
  fs::create_directory(dir.file("empty"));
  write_text(dir.file("empty/readme.txt"), "no pictures here");
  EXPECT_EQ(message({dir.file("empty")}),
            dir.file("empty") + ": no pictures (PNG, JPEG, PGM, ...) in the folder or in its class subfolders");
  write_text(dir.file("broken.png"), "\x89PNG\r\n\x1a\n and then nothing");
  EXPECT_TRUE(message({dir.path()}).starts_with(dir.file("broken.png") + ": not a picture OpenCV can decode"));
  write_text(dir.file("mystery"), "neither IDX nor a picture");
  EXPECT_TRUE(message({dir.file("mystery")}).starts_with(dir.file("mystery") + ": not a picture OpenCV can decode"));
  EXPECT_EQ(message({kIdx + "/t10k-images-idx3-ubyte.gz"}, {32, 32, 1, 10}),
            kIdx + "/t10k-images-idx3-ubyte.gz: holds 28x28 grey images, but the model takes 32x32x1 (IDX and CSV "
                   "records are not resized)");
  EXPECT_EQ(message({kCsv + "/fashion-mnist_test.csv"}, {28, 28, 1, 5}),
            kCsv + "/fashion-mnist_test.csv: label 9 of record 0 is out of range for the model's 5 classes");
}

}  // namespace
}  // namespace fmnist::test
