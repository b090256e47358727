// learning_curve.svg: the tutorial's figure as plain SVG 1.1 -- two panels side by side,
// "Training and validation accuracy" and "... loss" against epochs, training as blue dots,
// validation as a blue line, with axes, ticks, labels and a legend. Works for 0 and 1 epochs.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "fmnist/report.hpp"
#include "svg.hpp"

namespace fmnist {
namespace {

using detail::format;

constexpr double kPanelWidth = 500, kHeight = 400;
constexpr double kLeft = 70, kRight = 20, kTop = 40, kBottom = 55;  // plot area margins
constexpr const char* kColour = "#1f3fbf";

struct Range {
  double lo, hi;
};

struct Panel {
  const char* title;
  const char* y_label;
  const char* train_label;
  const char* val_label;
  const std::vector<double>& train;
  const std::vector<double>& val;
  bool legend_at_top;  // loss falls (legend top right), accuracy rises (bottom right)
};

// A "nice" step (1, 2 or 5 times a power of ten) giving at most about `count` intervals.
double nice_step(double span, double count) {
  const double raw = span / count;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0}) {
    if (m * power >= raw) return m * power;
  }
  return 10 * power;
}

// min..max of both series, padded by 5% (or by 0.05 when flat); [0, 1] with no data.
Range value_range(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> all;
  for (const auto* v : {&a, &b}) {
    for (double x : *v) {
      if (std::isfinite(x)) all.push_back(x);
    }
  }
  if (all.empty()) return {0, 1};
  const auto [lo, hi] = std::minmax_element(all.begin(), all.end());
  const double pad = *hi > *lo ? 0.05 * (*hi - *lo) : std::max(0.05, 0.05 * std::fabs(*lo));
  return {*lo - pad, *hi + pad};
}

std::string tick_label(double v, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, std::fabs(v) < 1e-12 ? 0.0 : v);
  return text;
}

class Plot {
 public:
  Plot(double x0, Range x, Range y) : x0_(x0), x_(x), y_(y) {}
  double px(double v) const {
    return x0_ + kLeft + (v - x_.lo) / (x_.hi - x_.lo) * (kPanelWidth - kLeft - kRight);
  }
  double py(double v) const { return kTop + (y_.hi - v) / (y_.hi - y_.lo) * (kHeight - kTop - kBottom); }
  double left() const { return x0_ + kLeft; }
  double right() const { return x0_ + kPanelWidth - kRight; }

 private:
  double x0_;
  Range x_, y_;
};

void draw_axes(std::string& out, const Plot& plot, Range x, Range y, std::size_t epochs, const Panel& p) {
  const double bottom = kHeight - kBottom;
  out += format("<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"none\" stroke=\"#000\"/>\n",
                plot.left(), kTop, plot.right() - plot.left(), bottom - kTop);
  const double x_step = std::max(1.0, nice_step(std::max<double>(epochs, 1), 8));
  for (double e = 1; e <= x.hi; e += x_step) {
    out += format("<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#000\"/>\n", plot.px(e), bottom,
                  plot.px(e), bottom + 5);
    out += format("<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">%.0f</text>\n", plot.px(e), bottom + 19, e);
  }
  const double y_step = nice_step(y.hi - y.lo, 6);
  const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(y_step) + 1e-9)));
  for (double v = std::ceil(y.lo / y_step) * y_step; v <= y.hi + 1e-12; v += y_step) {
    out += format("<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#000\"/>\n", plot.left() - 5,
                  plot.py(v), plot.left(), plot.py(v));
    out += format("<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\">", plot.left() - 8, plot.py(v) + 4) +
           tick_label(v, decimals) + "</text>\n";
  }
  const double middle = (plot.left() + plot.right()) / 2;
  out += format("<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" font-size=\"15\">", middle, kTop - 14) +
         p.title + "</text>\n";
  out += format("<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">Epochs</text>\n", middle, kHeight - 12);
  out += format("<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" transform=\"rotate(-90 %.2f %.2f)\">",
                plot.left() - 52, (kTop + bottom) / 2, plot.left() - 52, (kTop + bottom) / 2) +
         p.y_label + "</text>\n";
}

void draw_legend(std::string& out, const Plot& plot, const Panel& p) {
  const double width = 170, height = 46;
  const double x = plot.right() - width - 8;
  const double y = p.legend_at_top ? kTop + 8 : kHeight - kBottom - height - 8;
  out += "<g class=\"legend\">\n";
  out += format("<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"#fff\" stroke=\"#bbb\"/>\n", x, y,
                width, height);
  out += format("<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3.5\" ", x + 16, y + 15) + "fill=\"" + kColour + "\"/>\n" +
         format("<text x=\"%.2f\" y=\"%.2f\">", x + 32, y + 19) + p.train_label + "</text>\n";
  out += format("<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke-width=\"2\" ", x + 6, y + 33, x + 26,
                y + 33) +
         "stroke=\"" + kColour + "\"/>\n" + format("<text x=\"%.2f\" y=\"%.2f\">", x + 32, y + 37) + p.val_label +
         "</text>\n";
  out += "</g>\n";
}

void draw_panel(std::string& out, double x0, const Panel& p) {
  const std::size_t epochs = p.train.size();
  const Range x = epochs <= 1 ? Range{0.5, 1.5} : Range{1 - 0.05 * (epochs - 1.0), epochs + 0.05 * (epochs - 1.0)};
  const Range y = value_range(p.train, p.val);
  const Plot plot(x0, x, y);
  out += "<g class=\"panel\">\n";
  draw_axes(out, plot, x, y, epochs, p);
  if (!p.val.empty()) {
    std::string points;
    for (std::size_t e = 0; e < p.val.size(); ++e) points += format("%.2f,%.2f ", plot.px(e + 1.0), plot.py(p.val[e]));
    if (p.val.size() == 1) points += points;  // a zero-length line with round caps shows as a dot
    points.pop_back();
    out += "<polyline class=\"validation\" fill=\"none\" stroke=\"" + std::string(kColour) +
           "\" stroke-width=\"2\" stroke-linecap=\"round\" stroke-linejoin=\"round\" points=\"" + points + "\"/>\n";
  }
  for (std::size_t e = 0; e < p.train.size(); ++e) {
    out += format("<circle class=\"training\" cx=\"%.2f\" cy=\"%.2f\" r=\"3.5\" ", plot.px(e + 1.0),
                  plot.py(p.train[e])) +
           "fill=\"" + kColour + "\"/>\n";
  }
  draw_legend(out, plot, p);
  out += "</g>\n";
}

}  // namespace

std::string learning_curve_svg(const History& h) {
  std::string out = detail::svg_open(2 * kPanelWidth, kHeight);
  draw_panel(out, 0,
             {"Training and validation accuracy", "Accuracy", "Training accuracy", "Validation accuracy", h.accuracy,
              h.val_accuracy, false});
  draw_panel(out, kPanelWidth,
             {"Training and validation loss", "Loss", "Training loss", "Validation loss", h.loss, h.val_loss, true});
  out += "</svg>\n";
  return out;
}

}  // namespace fmnist
