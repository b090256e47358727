// learning_curve.svg: the tutorial's figure as plain SVG 1.1 -- two panels side by side,
// "Training and validation accuracy" and "... loss" against epochs, training as blue dots,
// validation as a blue line, with axes whose ticks span all the data, labels and a legend; a dashed
// line marks the epoch best.h5 holds (lowest val_loss, or EarlyStopping's best); a third panel shows
// the learning rate when a callback or schedule changed it. Works for 0 and 1 epochs.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <utility>
#include <vector>

#include "fmnist/report.hpp"
#include "svg.hpp"

namespace fmnist {
namespace {

using detail::format;

constexpr double kPanelWidth = 500, kHeight = 400;
constexpr double kLeft = 70, kRight = 20, kTop = 40, kBottom = 55;  // plot area margins
constexpr const char* kColour = "#1f3fbf";
constexpr const char* kBestColour = "#777";  // the dashed line at best.h5's epoch

struct Panel {
  const char* title;
  const char* y_label;
  const char* train_label;
  const char* val_label;
  const std::vector<double>& train;
  const std::vector<double>& val;
  bool legend_at_top;  // loss falls (legend top right), accuracy rises (bottom right), unless that hides data
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

// An axis: ticks every `step` from first to last, drawn over [lo, hi].
struct Axis {
  double lo, hi, step, first, last;
};

// Ticks at multiples of a nice step that enclose [data_lo, data_hi] (about `count` intervals, the
// step at least `min_step`), the range a little wider so that no point sits on the frame.
Axis tick_axis(double data_lo, double data_hi, double count, double min_step) {
  const double span = data_hi > data_lo ? data_hi - data_lo : std::max(0.1, 0.1 * std::fabs(data_lo));
  const double step = std::max(min_step, nice_step(span, count));
  double first = std::floor(data_lo / step + 1e-9) * step, last = std::ceil(data_hi / step - 1e-9) * step;
  if (last <= first) last = first + step;
  const double pad = 0.03 * (last - first);
  return {first - pad, last + pad, step, first, last};
}

// The finite values of both series, enclosed by ticks; [0, 1] with no data.
Axis value_axis(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> all;
  for (const auto* v : {&a, &b}) {
    for (double x : *v) {
      if (std::isfinite(x)) all.push_back(x);
    }
  }
  if (all.empty()) return tick_axis(0, 1, 6, 0);
  const auto [lo, hi] = std::minmax_element(all.begin(), all.end());
  return tick_axis(*lo, *hi, 6, 0);
}

// Epochs 1..n at whole-number ticks; one epoch (or none) centred on its own tick.
Axis epoch_axis(std::size_t epochs) {
  if (epochs <= 1) return {0.5, 1.5, 1, 1, 1};
  return tick_axis(1, double(epochs), 8, 1);
}

std::string tick_label(double v, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, std::fabs(v) < 1e-12 ? 0.0 : v);
  return text;
}

class Plot {
 public:
  Plot(double x0, const Axis& x, const Axis& y) : x0_(x0), x_(x), y_(y) {}
  double px(double v) const {
    return x0_ + kLeft + (v - x_.lo) / (x_.hi - x_.lo) * (kPanelWidth - kLeft - kRight);
  }
  double py(double v) const { return kTop + (y_.hi - v) / (y_.hi - y_.lo) * (kHeight - kTop - kBottom); }
  double left() const { return x0_ + kLeft; }
  double right() const { return x0_ + kPanelWidth - kRight; }

 private:
  double x0_;
  Axis x_, y_;
};

void draw_axes(std::string& out, const Plot& plot, const Axis& x, const Axis& y, const Panel& p) {
  const double bottom = kHeight - kBottom;
  out += format("<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"none\" stroke=\"#000\"/>\n",
                plot.left(), kTop, plot.right() - plot.left(), bottom - kTop);
  for (double e = x.first; e <= x.last + 1e-9; e += x.step) {
    out += format("<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#000\"/>\n", plot.px(e), bottom,
                  plot.px(e), bottom + 5);
    out += format("<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">%.0f</text>\n", plot.px(e), bottom + 19, e);
  }
  const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(y.step) + 1e-9)));
  for (double v = y.first; v <= y.last + 1e-9 * y.step; v += y.step) {
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

// The legend's top-left corner: of the plot's four corners, the one whose box covers the fewest
// points of the data (the validation line sampled between epochs too); on a tie, the panel's
// usual corner first (top right for the loss, which falls; bottom right for the accuracy).
std::pair<double, double> legend_corner(const Plot& plot, const Panel& p, double width, double height) {
  std::vector<std::pair<double, double>> points;  // (x, y) in pixels
  for (std::size_t e = 0; e < p.train.size(); ++e) points.emplace_back(plot.px(e + 1.0), plot.py(p.train[e]));
  for (std::size_t e = 0; e < p.val.size(); ++e) {
    for (int part = 0; part < (e + 1 < p.val.size() ? 8 : 1); ++part) {
      const double t = part / 8.0, v = e + 1 < p.val.size() ? (1 - t) * p.val[e] + t * p.val[e + 1] : p.val[e];
      points.emplace_back(plot.px(e + 1.0 + t), plot.py(v));
    }
  }
  const double left = plot.left() + 8, right = plot.right() - width - 8;
  const double top = kTop + 8, bottom = kHeight - kBottom - height - 8;
  const std::pair<double, double> usual = p.legend_at_top ? std::pair{right, top} : std::pair{right, bottom};
  std::pair<double, double> best = usual;
  std::size_t fewest = SIZE_MAX;
  for (const auto& corner : {usual, std::pair{right, p.legend_at_top ? bottom : top}, std::pair{left, top},
                             std::pair{left, bottom}}) {
    const auto covered = std::count_if(points.begin(), points.end(), [&](const auto& q) {
      return q.first >= corner.first - 6 && q.first <= corner.first + width + 6 && q.second >= corner.second - 6 &&
             q.second <= corner.second + height + 6;
    });
    if (std::size_t(covered) < fewest) fewest = std::size_t(covered), best = corner;
  }
  return best;
}

// Training (a dot), validation (a line) and, when there is one, best.h5's epoch (a dashed line).
void draw_legend(std::string& out, const Plot& plot, const Panel& p, const BestMark& mark) {
  const std::size_t best = mark.epoch;
  const double width = best > 0 ? std::max(235.0, 115 + 6.5 * double(mark.what.size())) : 170,
               height = best > 0 ? 64 : 46;
  const auto [x, y] = legend_corner(plot, p, width, height);
  out += "<g class=\"legend\">\n";
  out += format("<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"#fff\" stroke=\"#bbb\"/>\n", x, y,
                width, height);
  out += format("<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3.5\" ", x + 16, y + 15) + "fill=\"" + kColour + "\"/>\n" +
         format("<text x=\"%.2f\" y=\"%.2f\">", x + 32, y + 19) + p.train_label + "</text>\n";
  out += format("<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke-width=\"2\" ", x + 6, y + 33, x + 26,
                y + 33) +
         "stroke=\"" + kColour + "\"/>\n" + format("<text x=\"%.2f\" y=\"%.2f\">", x + 32, y + 37) + p.val_label +
         "</text>\n";
  if (best > 0) {
    out += format("<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" ", x + 6, y + 51, x + 26, y + 51) +
           "stroke=\"" + kBestColour + "\" stroke-width=\"1.5\" stroke-dasharray=\"5,3\"/>\n" +
           format("<text x=\"%.2f\" y=\"%.2f\">best.h5: epoch %.0f (", x + 32, y + 55, double(best)) + mark.what +
           ")</text>\n";
  }
  out += "</g>\n";
}

// best: the epoch best.h5 holds (0: none), marked by a dashed vertical line.
void draw_panel(std::string& out, double x0, const Panel& p, const BestMark& mark) {
  const std::size_t best = mark.epoch;
  const Axis x = epoch_axis(std::max(p.train.size(), p.val.size())), y = value_axis(p.train, p.val);
  const Plot plot(x0, x, y);
  out += "<g class=\"panel\">\n";
  draw_axes(out, plot, x, y, p);
  if (best > 0) {
    out += format("<line class=\"best\" x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" ", plot.px(double(best)), kTop,
                  plot.px(double(best)), kHeight - kBottom) +
           "stroke=\"" + kBestColour + "\" stroke-width=\"1.5\" stroke-dasharray=\"5,3\"/>\n";
  }
  if (!p.train.empty()) draw_legend(out, plot, p, mark);  // under the data: where it cannot avoid a point, the point shows
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
  out += "</g>\n";
}

}  // namespace

std::size_t best_epoch(const History& h) {
  std::size_t best = 0;
  for (std::size_t e = 0; e < h.epochs(); ++e) {
    if (best == 0 || h.val_loss[e] < h.val_loss[best - 1]) best = e + 1;
  }
  return best;
}

// The rate panel: the rate per epoch as a line, only when it changed during the run (Keras logs lr then).
std::string learning_curve_svg(const History& h, const BestMark& best) {
  const bool rate_moves = h.lr.size() == h.epochs() && h.epochs() > 1 &&
                          std::all_of(h.lr.begin(), h.lr.end(), [](double v) { return std::isfinite(v); }) &&
                          std::any_of(h.lr.begin(), h.lr.end(), [&](double v) { return v != h.lr.front(); });
  std::string out = detail::svg_open((rate_moves ? 3 : 2) * kPanelWidth, kHeight);
  draw_panel(out, 0,
             {"Training and validation accuracy", "Accuracy", "Training accuracy", "Validation accuracy", h.accuracy,
              h.val_accuracy, false},
             best);
  draw_panel(out, kPanelWidth,
             {"Training and validation loss", "Loss", "Training loss", "Validation loss", h.loss, h.val_loss, true},
             best);
  static const std::vector<double> none;
  if (rate_moves)
    draw_panel(out, 2 * kPanelWidth, {"Learning rate", "Learning rate", "", "", none, h.lr, true}, best);
  out += "</svg>\n";
  return out;
}

}  // namespace fmnist
