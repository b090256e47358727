// The report module's pictures of an evaluation: the confusion heat map (well-formed, one
// coloured cell and count per pair of classes, darker for a larger share of the true class,
// class names escaped on both axes) and the picture grid (base64 data URIs, captions, tooltips).
#include <gtest/gtest.h>

#include <regex>

#include "fmnist/report.hpp"
#include "svg_check.hpp"

namespace fmnist {
namespace {

using test::count;
using test::tags_balanced;

std::vector<std::string> matches(const std::string& text, const std::string& pattern) {
  std::vector<std::string> found;
  const std::regex re(pattern);
  for (std::sregex_iterator it(text.begin(), text.end(), re), end; it != end; ++it) found.push_back((*it)[1]);
  return found;
}

// Perceived brightness of "#rrggbb".
double brightness(const std::string& hex) {
  const int r = std::stoi(hex.substr(1, 2), nullptr, 16), g = std::stoi(hex.substr(3, 2), nullptr, 16),
            b = std::stoi(hex.substr(5, 2), nullptr, 16);
  return 0.299 * r + 0.587 * g + 0.114 * b;
}

TEST(ConfusionSvg, OneCellPerPairWithTheCountAndAColourByShare) {
  const std::vector<std::string> names = {"Cats & dogs", "<b>", "T-shirt/top"};
  const std::vector<std::int64_t> counts = {90, 10, 0,   5, 5, 0,   0, 1, 0};
  const std::string svg = confusion_svg(names, counts, "Confusion of \"x\" & y");
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_TRUE(tags_balanced(svg));
  EXPECT_EQ(matches(svg, "<text class=\"count\"[^>]*>([0-9]+)</text>"),
            (std::vector<std::string>{"90", "10", "0", "5", "5", "0", "0", "1", "0"}));
  const std::vector<std::string> fills = matches(svg, "<rect x=\"[0-9.]+\" y=\"[0-9.]+\" width=\"56.0\" height=\"56.0\" fill=\"(#[0-9a-f]{6})\"");
  ASSERT_EQ(fills.size(), 9u);
  EXPECT_LT(brightness(fills[0]), brightness(fills[1]));  // 90% of its row against 10%
  EXPECT_EQ(fills[3], fills[4]);                          // 50% and 50%
  EXPECT_EQ(fills[2], fills[6]);                          // zero shares: the lightest colour
  EXPECT_LT(brightness(fills[7]), brightness(fills[0]));  // 100% is the darkest
  EXPECT_EQ(brightness(fills[8]), brightness(fills[2]));  // an empty row has no share
  const std::vector<std::pair<std::string, std::size_t>> labels = {
      {">Cats &amp; dogs</text>", 2}, {">&lt;b&gt;</text>", 2}, {">T-shirt/top</text>", 2},  // both axes
      {">True label</text>", 1}, {">Predicted label</text>", 1}, {">Confusion of &quot;x&quot; &amp; y</text>", 1},
      {">share of the true class</text>", 1}};
  for (const auto& [label, times] : labels) EXPECT_EQ(count(svg, label), times) << label;
}

TEST(PictureGridSvg, EmbedsEachPictureAsBase64WithItsCaption) {
  const std::vector<PictureTile> tiles = {{"Man", 140, 140, "Shirt → Coat (0.990)", "a.png"},
                                          {"Ma", 140, 140, "Bag → Sandal (0.500)", "b&c.png"},
                                          {"M", 140, 140, "x", "d.png"}};
  const std::string svg = picture_grid_svg(tiles, "Errors", 2);
  EXPECT_TRUE(tags_balanced(svg));
  EXPECT_EQ(matches(svg, "xlink:href=\"data:image/png;base64,([^\"]*)\""), (std::vector<std::string>{"TWFu", "TWE=", "TQ=="}));
  EXPECT_EQ(matches(svg, "<text class=\"caption\"[^>]*>([^<]*)</text>"),
            (std::vector<std::string>{"Shirt → Coat (0.990)", "Bag → Sandal (0.500)", "x"}));
  EXPECT_EQ(matches(svg, "<title>([^<]*)</title>"), (std::vector<std::string>{"a.png", "b&amp;c.png", "d.png"}));
  const std::vector<std::string> x = matches(svg, "<image x=\"([0-9.]+)\"");
  const std::vector<std::string> y = matches(svg, "<image x=\"[0-9.]+\" y=\"([0-9.]+)\"");
  ASSERT_EQ(x.size(), 3u);
  EXPECT_LT(std::stod(x[0]), std::stod(x[1]));  // two columns
  EXPECT_EQ(x[0], x[2]);                        // the third starts the second row
  EXPECT_LT(std::stod(y[0]), std::stod(y[2]));
  EXPECT_NE(svg.find("width=\"460\" height=\"428\""), std::string::npos);
  EXPECT_NE(picture_grid_svg({}, "none", 6).find(">(nothing to show)</text>"), std::string::npos);
}

}  // namespace
}  // namespace fmnist
