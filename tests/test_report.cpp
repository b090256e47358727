// The report module: history.csv rows and digits, the learning-curve SVG (well-formed, two
// titled panels, one dot per training value, a line per validation series, a legend, points
// placed by value) for 0, 1 and many epochs.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
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

History sample_history(int epochs) {
  History h;
  for (int e = 0; e < epochs; ++e) h.add(0.9 - 0.05 * e, 0.6 + 0.02 * e, 0.8 - 0.04 * e, 0.62 + 0.015 * e, 5.25 + e);
  return h;
}

TEST(HistoryCsv, HeaderAndOneRowPerEpoch) {
  EXPECT_EQ(history_csv(History{}), "epoch,loss,accuracy,val_loss,val_accuracy,seconds\n");
  History h;
  h.add(0.5123456, 0.8, 0.45, 0.8333333, 12.3456);
  h.add(0.25, 0.9, 0.4, 0.85, 11);
  EXPECT_EQ(history_csv(h),
            "epoch,loss,accuracy,val_loss,val_accuracy,seconds\n"
            "1,0.512346,0.800000,0.450000,0.833333,12.346\n"
            "2,0.250000,0.900000,0.400000,0.850000,11.000\n");
}

TEST(LearningCurveSvg, TwoPanelsWithDotsLinesAndLegends) {
  const std::string svg = learning_curve_svg(sample_history(15));
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_TRUE(tags_balanced(svg));
  EXPECT_EQ(count(svg, ">Training and validation accuracy</text>"), 1u);
  EXPECT_EQ(count(svg, ">Training and validation loss</text>"), 1u);
  EXPECT_EQ(count(svg, "<circle class=\"training\""), 30u);
  EXPECT_EQ(count(svg, "<polyline class=\"validation\""), 2u);
  EXPECT_EQ(count(svg, "<g class=\"legend\">"), 2u);
  for (const char* label : {"Training accuracy", "Validation accuracy", "Training loss", "Validation loss",
                            ">Epochs<", ">Accuracy<", ">Loss<", ">15<"}) {
    EXPECT_NE(svg.find(label), std::string::npos) << label;
  }
}

TEST(LearningCurveSvg, HigherValuesAreDrawnHigher) {
  const std::string svg = learning_curve_svg(sample_history(5));
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

TEST(LearningCurveSvg, ZeroAndOneEpochStillGiveAxes) {
  const std::string empty = learning_curve_svg(History{});
  EXPECT_TRUE(tags_balanced(empty));
  EXPECT_EQ(count(empty, "<circle class=\"training\""), 0u);
  EXPECT_EQ(count(empty, "<polyline"), 0u);
  EXPECT_EQ(count(empty, "Training and validation"), 2u);
  EXPECT_EQ(empty.find("nan"), std::string::npos);

  const std::string one = learning_curve_svg(sample_history(1));
  EXPECT_TRUE(tags_balanced(one));
  EXPECT_EQ(count(one, "<circle class=\"training\""), 2u);
  EXPECT_EQ(count(one, "<polyline class=\"validation\""), 2u);
  EXPECT_EQ(one.find("nan"), std::string::npos);
  EXPECT_EQ(one.find("inf"), std::string::npos);
}

}  // namespace
}  // namespace fmnist
