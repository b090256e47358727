// The report module: history.csv rows and digits, the learning-curve SVG (well-formed, two
// titled panels, one dot per training value, a line per validation series, a legend, points
// placed by value, ticks that enclose the data, best.h5's epoch marked) for 0, 1 and many epochs.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <fstream>
#include <iterator>
#include <regex>
#include <vector>

#include "fmnist/error.hpp"
#include "fmnist/report.hpp"
#include "svg_check.hpp"

namespace fmnist {
namespace {

using test::count;
using test::tags_balanced;

// The figure with best.h5's mark at the lowest val_loss (no EarlyStopping).
std::string curve(const History& h) { return learning_curve_svg(h, {best_epoch(h), "lowest val_loss"}); }

History sample_history(int epochs) {
  History h;
  for (int e = 0; e < epochs; ++e)
    h.add({.loss = 0.9 - 0.05 * e, .accuracy = 0.6 + 0.02 * e, .val_loss = 0.8 - 0.04 * e,
           .val_accuracy = 0.62 + 0.015 * e, .seconds = 5.25 + e});
  return h;
}

// A rate that changed gets a third panel; the dashed line and its legend follow the given best epoch.
TEST(LearningCurve, RatePanelAndEarlyStoppingsBest) {
  History h = sample_history(5);
  EXPECT_EQ(curve(h).find("Learning rate"), std::string::npos);
  h.lr = {0.001, 0.001, 0.0005, 0.0005, 0.00025};
  const std::string svg = learning_curve_svg(h, {3, "EarlyStopping's best val_accuracy"});
  EXPECT_NE(svg.find("width=\"1500\""), std::string::npos);
  EXPECT_NE(svg.find(">Learning rate</text>"), std::string::npos);
  EXPECT_NE(svg.find("best.h5: epoch 3 (EarlyStopping's best val_accuracy)"), std::string::npos);
  EXPECT_EQ(svg.find("lowest val_loss"), std::string::npos);
}

TEST(HistoryCsv, HeaderAndOneRowPerEpoch) {
  EXPECT_EQ(history_csv(History{}, "r1"), "epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds,run_id\n");
  History h;
  h.add({.loss = 0.5123456, .accuracy = 0.8, .val_loss = 0.45, .val_accuracy = 0.8333333,
         .lr = static_cast<float>(0.001), .seconds = 12.3456});
  h.add({.loss = 0.25, .accuracy = 0.9, .val_loss = 0.4, .val_accuracy = 0.85, .lr = static_cast<float>(0.0001),
         .seconds = 11});
  EXPECT_EQ(history_csv(h, "0f1e2d3c"),
            "epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds,run_id\n"
            "1,0.512346,0.800000,0.450000,0.833333,0.001,12.346,0f1e2d3c\n"
            "2,0.250000,0.900000,0.400000,0.850000,0.0001,11.000,0f1e2d3c\n");
  const std::string without_id = history_csv(h, "");  // a checkpoint from before run ids: an empty last field
  EXPECT_NE(without_id.find("\n1,0.512346,0.800000,0.450000,0.833333,0.001,12.346,\n"), std::string::npos) << without_id;
}

TEST(LearningCurveSvg, TwoPanelsWithDotsLinesAndLegends) {
  const std::string svg = curve(sample_history(15));
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_TRUE(tags_balanced(svg));
  EXPECT_EQ(count(svg, ">Training and validation accuracy</text>"), 1u);
  EXPECT_EQ(count(svg, ">Training and validation loss</text>"), 1u);
  EXPECT_EQ(count(svg, "<circle class=\"training\""), 30u);
  EXPECT_EQ(count(svg, "<polyline class=\"validation\""), 2u);
  EXPECT_EQ(count(svg, "<g class=\"legend\">"), 2u);
  for (const char* label : {"Training accuracy", "Validation accuracy", "Training loss", "Validation loss",
                            ">Epochs<", ">Accuracy<", ">Loss<", ">16<", "best.h5: epoch 15 (lowest val_loss)"}) {
    EXPECT_NE(svg.find(label), std::string::npos) << label;
  }
}

TEST(LearningCurveSvg, HigherValuesAreDrawnHigher) {
  const std::string svg = curve(sample_history(5));
  const std::regex dot(R"re(<circle class="training" cx="([0-9.]+)" cy="([0-9.]+)")re");
  std::vector<double> x, y;
  for (std::sregex_iterator it(svg.begin(), svg.end(), dot), end; it != end; ++it) {
    x.push_back(std::stod((*it)[1]));
    y.push_back(std::stod((*it)[2]));
  }
  ASSERT_EQ(y.size(), 10u);
  for (int e = 1; e < 5; ++e) {
    EXPECT_GT(x[e], x[e - 1]);
    EXPECT_LT(y[e], y[e - 1]);          // accuracy rises: smaller y in SVG coordinates
    EXPECT_GT(y[5 + e], y[5 + e - 1]);  // loss falls
    EXPECT_GT(x[5 + e], 500);           // the loss panel is on the right
  }
}

TEST(BestEpoch, LowestValLossFirstOnTies) {
  EXPECT_EQ(best_epoch(History{}), 0u);
  History h;
  for (double v : {0.9, 0.5, 0.7, 0.5, 0.6}) h.add({.loss = 1, .accuracy = 0.5, .val_loss = v, .val_accuracy = 0.5, .seconds = 1});
  EXPECT_EQ(best_epoch(h), 2u);  // epoch 4 ties with 0.5: the trainer keeps the first (val_loss < best)
}

// The x of the dashed best.h5 line in each panel, and every tick label of an axis (the text of
// <text text-anchor="end"> is a y tick; "middle" under the plot an x tick).
std::vector<double> best_lines(const std::string& svg) {
  const std::regex line(R"re(<line class="best" x1="([0-9.]+)")re");
  std::vector<double> x;
  for (std::sregex_iterator it(svg.begin(), svg.end(), line), end; it != end; ++it) x.push_back(std::stod((*it)[1]));
  return x;
}

std::vector<double> tick_values(const std::string& svg, const char* anchor) {
  const std::regex label(std::string(R"re(text-anchor=")re") + anchor + R"re(">(-?[0-9.]+)</text>)re");
  std::vector<double> v;
  for (std::sregex_iterator it(svg.begin(), svg.end(), label), end; it != end; ++it) v.push_back(std::stod((*it)[1]));
  return v;
}

TEST(LearningCurveSvg, MarksBestEpochAndTicksEncloseTheData) {
  History h;
  const std::vector<double> val_loss = {0.8, 0.6, 0.45, 0.5, 0.45, 0.7, 0.9};  // lowest at epoch 3 (and 5)
  for (std::size_t e = 0; e < val_loss.size(); ++e)
    h.add({.loss = 0.9 - 0.1 * e, .accuracy = 0.55 + 0.05 * e, .val_loss = val_loss[e], .val_accuracy = 0.6, .seconds = 1});
  const std::string svg = curve(h);
  EXPECT_TRUE(tags_balanced(svg));
  EXPECT_NE(svg.find("best.h5: epoch 3 (lowest val_loss)"), std::string::npos);
  const std::vector<double> lines = best_lines(svg);
  ASSERT_EQ(lines.size(), 2u);  // one per panel, at epoch 3: between the dots of epochs 2 and 4
  const std::regex dot(R"re(<circle class="training" cx="([0-9.]+)")re");
  std::vector<double> dots;
  for (std::sregex_iterator it(svg.begin(), svg.end(), dot), end; it != end; ++it) dots.push_back(std::stod((*it)[1]));
  ASSERT_EQ(dots.size(), 14u);
  EXPECT_NEAR(lines[0], dots[2], 0.01);
  EXPECT_NEAR(lines[1], dots[7 + 2], 0.01);
  // y ticks: accuracy 0.55..0.85 and loss 0.3..0.9 each lie between a panel's first and last tick.
  const std::vector<double> y = tick_values(svg, "end");
  const auto split = std::adjacent_find(y.begin(), y.end(), std::greater_equal<double>()) + 1;  // the loss panel's start
  const std::vector<double> accuracy(y.begin(), split), loss(split, y.end());
  ASSERT_GE(accuracy.size(), 3u);
  ASSERT_GE(loss.size(), 3u);
  EXPECT_LE(accuracy.front(), 0.55);
  EXPECT_GE(accuracy.back(), 0.85 - 1e-9);
  EXPECT_LE(loss.front(), 0.3 + 1e-9);
  EXPECT_GE(loss.back(), 0.9 - 1e-9);
  const std::vector<double> x = tick_values(svg, "middle");  // epochs 1..7 at step 1
  EXPECT_EQ(std::count(x.begin(), x.end(), 1.0), 2);
  EXPECT_EQ(std::count(x.begin(), x.end(), 7.0), 2);
  EXPECT_EQ(curve(History{}).find("class=\"best\""), std::string::npos);
}

TEST(LearningCurveSvg, ZeroAndOneEpochStillGiveAxes) {
  const std::string empty = curve(History{});
  EXPECT_TRUE(tags_balanced(empty));
  EXPECT_EQ(count(empty, "<circle class=\"training\""), 0u);
  EXPECT_EQ(count(empty, "<polyline"), 0u);
  EXPECT_EQ(count(empty, "Training and validation"), 2u);
  EXPECT_EQ(empty.find("nan"), std::string::npos);

  const std::string one = curve(sample_history(1));
  EXPECT_TRUE(tags_balanced(one));
  EXPECT_EQ(count(one, "<circle class=\"training\""), 2u);
  EXPECT_EQ(count(one, "<polyline class=\"validation\""), 2u);
  EXPECT_EQ(one.find("nan"), std::string::npos);
  EXPECT_EQ(one.find("inf"), std::string::npos);
}

}  // namespace
}  // namespace fmnist
