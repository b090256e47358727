// The confusion matrix as an SVG heat map, as scikit-learn's ConfusionMatrixDisplay draws it:
// true classes down the side, predicted classes along the bottom, the count in every cell, and
// a white-to-blue colour for the cell's share of its true class (so rows of any size compare).
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "fmnist/report.hpp"
#include "svg.hpp"

namespace fmnist {
namespace {

using detail::format;
using detail::xml_escape;

constexpr double kCell = 56;                       // a cell's side
constexpr double kMatrixLeft = 170, kMatrixTop = 62;  // the matrix's top-left corner
constexpr double kBelow = 104, kRightSide = 130;   // room for the x labels and the colour scale

// matplotlib's "Blues" colour map, from white (0) to dark blue (1).
std::string blue(double t) {
  static const double stops[][3] = {{247, 251, 255}, {222, 235, 247}, {198, 219, 239}, {158, 202, 225}, {107, 174, 214},
                                    {66, 146, 198},  {33, 113, 181},  {8, 81, 156},    {8, 48, 107}};
  constexpr int kLast = 8;
  const double x = std::clamp(t, 0.0, 1.0) * kLast;
  const int i = std::min(static_cast<int>(x), kLast - 1);
  const double f = x - i;
  char text[8];
  std::snprintf(text, sizeof text, "#%02x%02x%02x", static_cast<int>(std::lround(stops[i][0] + f * (stops[i + 1][0] - stops[i][0]))),
                static_cast<int>(std::lround(stops[i][1] + f * (stops[i + 1][1] - stops[i][1]))),
                static_cast<int>(std::lround(stops[i][2] + f * (stops[i + 1][2] - stops[i][2]))));
  return text;
}

void draw_scale(std::string& out, double x, double height) {
  out += "<defs><linearGradient id=\"blues\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">";
  for (int i = 0; i <= 8; ++i) {
    out += format("<stop offset=\"%.3f\" stop-color=\"", i / 8.0) + blue(i / 8.0) + "\"/>";
  }
  out += "</linearGradient></defs>\n<g class=\"scale\">\n";
  out += format("<rect x=\"%.1f\" y=\"%.1f\" width=\"16\" height=\"%.1f\" fill=\"url(#blues)\" stroke=\"#888\"/>\n", x,
                kMatrixTop, height);
  for (int i = 0; i <= 4; ++i) {
    const double y = kMatrixTop + height * (1 - i / 4.0);
    out += format("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000\"/>\n", x + 16, y, x + 21, y);
    out += format("<text x=\"%.1f\" y=\"%.1f\">%.0f%%</text>\n", x + 24, y + 4, i * 25.0);
  }
  out += format("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(90 %.1f %.1f)\">", x + 64,
                kMatrixTop + height / 2, x + 64, kMatrixTop + height / 2) +
         "share of the true class</text>\n</g>\n";
}

}  // namespace

std::string confusion_svg(const std::vector<std::string>& class_names, const std::vector<std::int64_t>& counts,
                          const std::string& title) {
  const std::size_t k = class_names.size();
  if (counts.size() != k * k) throw std::invalid_argument("confusion_svg: counts is not classes x classes");
  const double side = kCell * double(k);
  std::string out = detail::svg_open(kMatrixLeft + side + kRightSide, kMatrixTop + side + kBelow);
  out += format("<text x=\"%.1f\" y=\"28\" text-anchor=\"middle\" font-size=\"16\">", (kMatrixLeft + side + kRightSide) / 2) +
         xml_escape(title) + "</text>\n<g class=\"cells\">\n";
  for (std::size_t t = 0; t < k; ++t) {
    std::int64_t row_total = 0;
    for (std::size_t p = 0; p < k; ++p) row_total += counts[t * k + p];
    for (std::size_t p = 0; p < k; ++p) {
      const std::int64_t n = counts[t * k + p];
      const double share = row_total > 0 ? double(n) / double(row_total) : 0;
      const double x = kMatrixLeft + kCell * double(p), y = kMatrixTop + kCell * double(t);
      out += format("<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" ", x, y, kCell, kCell) + "fill=\"" +
             blue(share) + "\" stroke=\"#fff\"><title>true " + xml_escape(class_names[t]) + ", predicted " +
             xml_escape(class_names[p]) + ": " + std::to_string(n) + format(" (%.1f%% of the true class)", 100 * share) +
             "</title></rect>\n";
      out += format("<text class=\"count\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"13\" ", x + kCell / 2,
                    y + kCell / 2 + 5) +
             "fill=\"" + (share > 0.45 ? "#fff" : n == 0 ? "#aaa" : "#111") + "\">" + std::to_string(n) + "</text>\n";
    }
  }
  out += format("</g>\n<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#444\"/>\n",
                kMatrixLeft, kMatrixTop, side, side);
  out += "<g class=\"true-labels\">\n";
  for (std::size_t t = 0; t < k; ++t) {
    out += format("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", kMatrixLeft - 8, kMatrixTop + kCell * (double(t) + 0.5) + 4) +
           xml_escape(class_names[t]) + "</text>\n";
  }
  out += "</g>\n<g class=\"predicted-labels\">\n";
  for (std::size_t p = 0; p < k; ++p) {
    const double x = kMatrixLeft + kCell * (double(p) + 0.5), y = kMatrixTop + side + 12;
    out += format("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" transform=\"rotate(-40 %.1f %.1f)\">", x + 4, y, x + 4,
                  y) +
           xml_escape(class_names[p]) + "</text>\n";
  }
  out += "</g>\n";
  out += format("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"14\">Predicted label</text>\n",
                kMatrixLeft + side / 2, kMatrixTop + side + kBelow - 14);
  out += format("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"14\" transform=\"rotate(-90 %.1f %.1f)\">",
                24.0, kMatrixTop + side / 2, 24.0, kMatrixTop + side / 2) +
         "True label</text>\n";
  draw_scale(out, kMatrixLeft + side + 24, side);
  return out + "</svg>\n";
}

}  // namespace fmnist
