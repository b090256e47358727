// Tests of the classifier and the one evaluation that --evaluate and --predict share: logits
// equal the Model's own forward pass, scores and the confusion matrix computed by hand, the
// choice of the most confident errors, the PNG and SVG pictures drawn from them, and --predict's
// CSV rows.
#include <cmath>
#include <regex>

#include "../src/predict/pictures.hpp"
#include "fmnist/model.hpp"
#include "fmnist/model_spec.hpp"
#include "test_predict_helpers.hpp"

namespace fmnist::test {
namespace {

Checkpoint random_checkpoint(std::uint64_t seed) {
  Checkpoint c;
  c.model = tutorial_model_spec();
  Model<float> model(c.model, 1);
  model.init(seed);
  c.weights.assign(model.params(), model.params() + model.num_params());
  return c;
}

TEST(Classifier, LogitsAreTheModelsForwardPassOnPixelsOver255) {
  const Checkpoint c = random_checkpoint(7);
  Classifier classifier = load_classifier(c);
  EXPECT_EQ(classifier.input().height, 28);
  EXPECT_EQ(classifier.input().channels, 1);
  EXPECT_EQ(classifier.class_names().at(9), "Ankle boot");
  const Dataset& d = fixture_test_set();
  std::vector<std::uint8_t> pixels;  // 1001 images: chunks of 500, 500 and 1, shared out over the cores
  for (int r = 0; r < 11; ++r) pixels.insert(pixels.end(), d.images.begin(), d.images.end());
  pixels.resize(1001 * kImagePixels);
  const std::vector<float> logits = classifier.logits(pixels.data(), 1001);
  ASSERT_EQ(logits.size(), 10010u);

  Model<float> model(c.model, 500);
  std::copy(c.weights.begin(), c.weights.end(), model.params());
  std::vector<float> x(500 * kImagePixels);
  for (std::size_t start : {0u, 500u, 1000u}) {
    const std::size_t n = std::min<std::size_t>(500, 1001 - start);
    for (std::size_t i = 0; i < n * kImagePixels; ++i) x[i] = float(pixels[start * kImagePixels + i]) / 255.0f;
    const float* expected = model.forward(x.data(), int(n));
    EXPECT_TRUE(std::equal(expected, expected + n * 10, logits.begin() + long(start * 10))) << start;
  }
}

TEST(Classifier, OtherClassCountsGetNumberedNames) {
  EXPECT_EQ(class_names(10).front(), "T-shirt/top");
  EXPECT_EQ(class_names(3), (std::vector<std::string>{"class 0", "class 1", "class 2"}));
}

TEST(Scores, LossAccuracyAndConfusionOverTheLabelledImages) {
  // Three classes; image 2 has no label and must not count.
  const std::vector<float> logits = {2, 0, 0,   0, 1, 3,   5, 0, 0,   0, 0, 1};
  const std::vector<int> labels = {0, 1, -1, 2};
  const Scores s = score(logits, labels, 3);
  EXPECT_EQ(s.samples, 3u);
  EXPECT_DOUBLE_EQ(s.accuracy, 2.0 / 3.0);
  const double l0 = std::log(std::exp(2.0) + 2) - 2, l1 = std::log(1 + std::exp(1.0) + std::exp(3.0)) - 1,
               l3 = std::log(2 + std::exp(1.0)) - 1;
  EXPECT_NEAR(s.loss, (l0 + l1 + l3) / 3, 1e-12);
  EXPECT_EQ(s.confusion, (std::vector<std::int64_t>{1, 0, 0, 0, 0, 1, 0, 0, 1}));
  EXPECT_EQ(s.count(1, 2), 1);
  const Scores none = score({1, 2, 3}, {-1}, 3);
  EXPECT_EQ(none.samples, 0u);
  EXPECT_EQ(none.accuracy, 0);
}

TEST(Scores, ConfusionTextHasOneRowPerTrueClass) {
  const Scores s = score({2, 0, 0, 1}, {0, 1}, 2);
  EXPECT_EQ(confusion_text(s, {"cat", "dog"}),
            "Confusion matrix (rows: true class, columns: predicted class)\n"
            "                     0     1\n"
            "  0 cat              1     0\n"
            "  1 dog              0     1\n");
}

TEST(Errors, TheMostConfidentWrongPredictionsFirst) {
  const std::vector<float> logits = {0, 5,   0, 1,   3, 0,   0, 9,   0, 9,   0, 2};
  const std::vector<int> labels = {0, 0, 0, 1, 0, -1};  // wrong: 0 (p 0.993), 1 (0.731), 4 (0.9999); 5 has no label
  EXPECT_EQ(detail::most_confident_errors(logits, labels, 2, 10), (std::vector<std::size_t>{4, 0, 1}));
  EXPECT_EQ(detail::most_confident_errors(logits, labels, 2, 2), (std::vector<std::size_t>{4, 0}));
}

class Pictures : public ::testing::Test {
 protected:
  // The fixture's 100 test images with a random model: plenty of errors.
  void SetUp() override {
    const Dataset& d = fixture_test_set();
    set.pixels = d.images;
    set.labels.assign(d.labels.begin(), d.labels.end());
    for (std::size_t i = 0; i < d.size(); ++i) set.sources.push_back("image " + std::to_string(i));
    logits = classifier.logits(set.pixels.data(), set.size());
    scores = score(logits, set.labels, 10);
  }
  Classifier classifier = load_classifier(random_checkpoint(3));
  ImageSet set;
  std::vector<float> logits;
  Scores scores;
  TempDir dir;
};

TEST_F(Pictures, ThePngGridShowsTheErrorsAsTheModelSawThem) {
  ASSERT_GE(scores.samples - std::size_t(scores.accuracy * 100 + 0.5), 36u);
  detail::draw_pictures(set, logits, scores, kTutorialInput, class_names(10), {"", dir.file("errors.png")}, "a test");
  const cv::Mat grid = cv::imread(dir.file("errors.png"), cv::IMREAD_COLOR);
  ASSERT_FALSE(grid.empty());
  EXPECT_EQ(grid.cols, 2 * 20 + 6 * 210);
  EXPECT_EQ(grid.rows, 20 + 44 + 6 * (140 + 42));
  const std::size_t first = detail::most_confident_errors(logits, set.labels, 10, 1).at(0);
  cv::Mat expected, shown, grey;
  cv::resize(fixture_image(first), expected, cv::Size(), 5, 5, cv::INTER_NEAREST);
  cv::cvtColor(grid(cv::Rect(20 + 35, 20 + 44, 140, 140)), grey, cv::COLOR_BGR2GRAY);
  EXPECT_EQ(cv::norm(grey, expected, cv::NORM_INF), 0);
  cv::cvtColor(grid(cv::Rect(20, 20 + 44 + 140, 210, 42)), shown, cv::COLOR_BGR2GRAY);
  EXPECT_GT(cv::countNonZero(shown < 128), 50) << "the caption under the first picture is missing";
}

TEST_F(Pictures, TheSvgGridCarriesThePicturesAndTheirCaptions) {
  detail::draw_pictures(set, logits, scores, kTutorialInput, class_names(10), {"", dir.file("errors.svg")}, "a test");
  const std::string svg = read_text(dir.file("errors.svg"));
  const std::vector<std::size_t> errors = detail::most_confident_errors(logits, set.labels, 10, 36);
  const std::regex caption("<text class=\"caption\"[^>]*>([^<]*)</text>");
  std::vector<std::string> captions;
  for (std::sregex_iterator it(svg.begin(), svg.end(), caption), end; it != end; ++it) captions.push_back((*it)[1]);
  ASSERT_EQ(captions.size(), 36u);
  for (std::size_t k = 0; k < errors.size(); ++k) {
    const std::vector<std::string> names = class_names(10);
    const float* row = logits.data() + errors[k] * 10;
    const int predicted = int(std::max_element(row, row + 10) - row);
    EXPECT_TRUE(captions[k].starts_with(names[std::size_t(set.labels[errors[k]])] + " → " +
                                        names[std::size_t(predicted)] + " (0."))
        << captions[k];
  }
  std::size_t images = 0;
  for (auto at = svg.find("<image "); at != std::string::npos; at = svg.find("<image ", at + 1), ++images) {
    const std::string png_uri = "xlink:href=\"data:image/png;base64,iVBORw0KGgo";  // the PNG signature in base64
    EXPECT_EQ(svg.compare(svg.find("xlink:href=", at), png_uri.size(), png_uri), 0);
  }
  EXPECT_EQ(images, 36u);
  EXPECT_NE(svg.find("<title>image " + std::to_string(errors[0]) + "</title>"), std::string::npos);
}

TEST_F(Pictures, TheConfusionHeatMapHasTheCountsAndClassNames) {
  detail::draw_pictures(set, logits, scores, kTutorialInput, class_names(10), {dir.file("confusion.svg"), ""}, "a test");
  const std::string svg = read_text(dir.file("confusion.svg"));
  const std::regex count("<text class=\"count\"[^>]*>([0-9]+)</text>");
  std::int64_t total = 0, cells = 0;
  for (std::sregex_iterator it(svg.begin(), svg.end(), count), end; it != end; ++it, ++cells) total += std::stoll((*it)[1]);
  EXPECT_EQ(cells, 100);
  EXPECT_EQ(total, 100);
  EXPECT_NE(svg.find(">T-shirt/top</text>"), std::string::npos);
  EXPECT_NE(svg.find(">Predicted label</text>"), std::string::npos);
  EXPECT_NE(svg.find("Confusion matrix of a test (100 images, accuracy 0."), std::string::npos);
}

TEST(PictureTitles, TheErrorGridSaysHowManyItShows) {
  EXPECT_EQ(detail::errors_title(6, 6, "m.h5 on x", "→"),
            "The 6 errors of m.h5 on x, most confident first: true → predicted (probability)");
  EXPECT_EQ(detail::errors_title(36, 1411, "m.h5 on x", "->"),
            "The 36 most confident of the 1,411 errors of m.h5 on x: true -> predicted (probability)");
  EXPECT_EQ(detail::errors_title(1, 1, "m.h5 on x", "->"), "The one error of m.h5 on x: true -> predicted (probability)");
  EXPECT_EQ(detail::errors_title(0, 0, "m.h5 on x", "->"), "No errors of m.h5 on x");
}

TEST(Predict, TheCsvHasOneRowPerImageWithTheTopThree) {
  TempDir dir;
  Classifier classifier = load_classifier(random_checkpoint(5));
  PredictOptions o;
  o.inputs = {kCsv + "/fashion-mnist_test.csv"};
  o.csv = dir.file("predictions.csv");
  const Scores s = predict(classifier, o);
  EXPECT_EQ(s.samples, 20u);
  const std::string csv = read_text(o.csv);
  EXPECT_TRUE(csv.starts_with("source,true,predicted,probability,top2,probability2,top3,probability3\n" + kCsv +
                              "/fashion-mnist_test.csv:0,Ankle boot,"));
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 21);
  const std::regex row("\n[^,\n]+,[^,\n]*,([^,\n]+),(0\\.[0-9]{6}|1\\.000000),([^,\n]+),(0\\.[0-9]{6}),([^,\n]+),(0\\.[0-9]{6})");
  std::size_t rows = 0;
  for (std::sregex_iterator it(csv.begin(), csv.end(), row), end; it != end; ++it, ++rows) {
    EXPECT_GE(std::stod((*it)[2]), std::stod((*it)[4]));
    EXPECT_GE(std::stod((*it)[4]), std::stod((*it)[6]));
  }
  EXPECT_EQ(rows, 20u);
}

}  // namespace
}  // namespace fmnist::test
