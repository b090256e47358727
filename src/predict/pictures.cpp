// The pictures of a labelled evaluation (docs/predicting.md: Pictures of what the model gets wrong): the
// confusion heat map (SVG from src/report) and the grid of the most confident errors, as PNG drawn
// here with OpenCV (whose Hershey fonts lack "→", so the PNG captions say "->") or as SVG from src/report.
#include <algorithm>
#include <cstdio>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "fmnist/atomic_file.hpp"
#include "fmnist/error.hpp"
#include "fmnist/report.hpp"
#include "fmnist/text.hpp"
#include "pictures.hpp"
#include "ranking.hpp"

namespace fmnist {
namespace {

constexpr int kColumns = 6, kZoom = 5;
constexpr int kMargin = 20, kTitle = 44, kCaption = 30, kMinTileWidth = 210;  // the PNG's layout, as the SVG's
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;

struct ErrorTile {
  cv::Mat picture;  // (height, width) grey, as the model saw it
  std::string true_name, predicted_name;
  double probability;
  std::string source;
};

std::string caption(const ErrorTile& t, const char* arrow) {
  char p[32];
  std::snprintf(p, sizeof p, " (%.3f)", t.probability);
  return t.true_name + " " + arrow + " " + t.predicted_name + p;
}

// The picture scaled up kZoom times without smoothing, so every pixel shows as a square.
cv::Mat zoomed(const cv::Mat& picture) {
  cv::Mat out;
  cv::resize(picture, out, cv::Size(), kZoom, kZoom, cv::INTER_NEAREST);
  return out;
}

std::string png_bytes(const cv::Mat& image) {
  std::vector<unsigned char> bytes;
  if (!cv::imencode(".png", image, bytes)) throw Error(Exit::internal, "OpenCV could not encode a PNG");
  return {bytes.begin(), bytes.end()};
}

// Draws `text` centred at (centre_x, baseline), shrunk until it fits `width`.
void put_centred(cv::Mat& canvas, const std::string& text, int centre_x, int baseline, int width, double scale) {
  int ignored = 0;
  cv::Size size = cv::getTextSize(text, kFont, scale, 1, &ignored);
  while (size.width > width && scale > 0.25) {
    scale *= 0.95;
    size = cv::getTextSize(text, kFont, scale, 1, &ignored);
  }
  cv::putText(canvas, text, cv::Point(centre_x - size.width / 2, baseline), kFont, scale, cv::Scalar(20, 20, 20), 1,
              cv::LINE_AA);
}

std::string grid_png(const std::vector<ErrorTile>& tiles, const std::string& title, int width, int height) {
  const int tile_width = std::max(kMinTileWidth, width * kZoom + 20), tile_height = height * kZoom + kCaption + 12;
  const int rows = std::max<int>(1, (static_cast<int>(tiles.size()) + kColumns - 1) / kColumns);
  cv::Mat canvas(kMargin + kTitle + tile_height * rows, 2 * kMargin + tile_width * kColumns, CV_8UC3,
                 cv::Scalar(255, 255, 255));
  put_centred(canvas, title, canvas.cols / 2, kMargin + 16, canvas.cols - 2 * kMargin, 0.6);
  for (std::size_t i = 0; i < tiles.size(); ++i) {
    const int x = kMargin + tile_width * static_cast<int>(i % kColumns);
    const int y = kMargin + kTitle + tile_height * static_cast<int>(i / kColumns);
    cv::Mat colour;
    cv::cvtColor(zoomed(tiles[i].picture), colour, cv::COLOR_GRAY2BGR);
    const cv::Rect where(x + (tile_width - colour.cols) / 2, y, colour.cols, colour.rows);
    colour.copyTo(canvas(where));
    cv::rectangle(canvas, cv::Rect(where.x - 1, where.y - 1, where.width + 2, where.height + 2), cv::Scalar(150, 150, 150));
    put_centred(canvas, caption(tiles[i], "->"), x + tile_width / 2, y + colour.rows + 20, tile_width - 8, 0.42);
  }
  if (tiles.empty()) put_centred(canvas, "(nothing to show)", canvas.cols / 2, kMargin + kTitle + 20, canvas.cols, 0.5);
  return png_bytes(canvas);
}

std::string grid_svg(const std::vector<ErrorTile>& tiles, const std::string& title) {
  std::vector<PictureTile> pictures;
  for (const ErrorTile& t : tiles) {
    pictures.push_back({png_bytes(zoomed(t.picture)), t.picture.cols * kZoom, t.picture.rows * kZoom, caption(t, "→"),
                        t.source});
  }
  return picture_grid_svg(pictures, title, kColumns);
}

}  // namespace

namespace detail {

std::vector<std::size_t> most_confident_errors(const std::vector<float>& logits, const std::vector<int>& labels,
                                               int classes, std::size_t count) {
  std::vector<std::pair<double, std::size_t>> wrong;  // (probability of the wrong prediction, image)
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const float* row = logits.data() + i * std::size_t(classes);
    const int predicted = argmax(row, classes);
    if (labels[i] >= 0 && predicted != labels[i]) wrong.emplace_back(probabilities(row, classes)[std::size_t(predicted)], i);
  }
  const std::size_t n = std::min(count, wrong.size());
  std::partial_sort(wrong.begin(), wrong.begin() + static_cast<std::ptrdiff_t>(n), wrong.end(),
                    [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
  std::vector<std::size_t> images(n);
  for (std::size_t i = 0; i < n; ++i) images[i] = wrong[i].second;
  return images;
}

std::string errors_title(std::size_t shown, std::size_t errors, const std::string& what, const char* arrow) {
  const std::string key = std::string(": true ") + arrow + " predicted (probability)";
  if (errors == 0) return "No errors of " + what;
  if (errors == 1) return "The one error of " + what + key;
  if (shown == errors) return "The " + with_commas(errors) + " errors of " + what + ", most confident first" + key;
  return "The " + with_commas(shown) + " most confident of the " + with_commas(errors) + " errors of " + what + key;
}

void draw_pictures(const ImageSet& images, const std::vector<float>& logits, const Scores& scores,
                   const ModelInput& input, const std::vector<std::string>& class_names, const Pictures& pictures,
                   const std::string& what) {
  if (!pictures.confusion_svg.empty()) {
    char accuracy[64];
    std::snprintf(accuracy, sizeof accuracy, ", accuracy %.4f)", scores.accuracy);
    write_file_atomically(pictures.confusion_svg,
                          confusion_svg(class_names, scores.confusion,
                                        "Confusion matrix of " + what + " (" + with_commas(scores.samples) + " images" + accuracy));
  }
  if (pictures.errors.empty()) return;
  std::int64_t wrong = 0;
  for (int t = 0; t < scores.classes; ++t) {
    for (int p = 0; p < scores.classes; ++p) wrong += t != p ? scores.count(t, p) : 0;
  }
  std::vector<ErrorTile> tiles;
  for (std::size_t i : most_confident_errors(logits, images.labels, input.classes, kErrorTiles)) {
    const float* row = logits.data() + i * std::size_t(input.classes);
    const int predicted = argmax(row, input.classes);
    cv::Mat picture(input.height, input.width, CV_8UC1, const_cast<std::uint8_t*>(images.pixels.data() + i * input.pixels()));
    tiles.push_back({picture.clone(), class_names[std::size_t(images.labels[i])], class_names[std::size_t(predicted)],
                     probabilities(row, input.classes)[std::size_t(predicted)], images.sources[i]});
  }
  const std::size_t shown = tiles.size(), errors = std::size_t(wrong);
  write_file_atomically(pictures.errors, lower_extension(pictures.errors) == ".png"
                                             ? grid_png(tiles, errors_title(shown, errors, what, "->"), input.width,
                                                        input.height)
                                             : grid_svg(tiles, errors_title(shown, errors, what, "→")));
}

}  // namespace detail
}  // namespace fmnist
