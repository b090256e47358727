// One picture file as the model's input, decoded by OpenCV's imgcodecs (docs/predicting.md: How a
// picture becomes the model's input): to 8-bit grey (alpha over white), padded to the model's aspect ratio with the
// border's mean, resized (area averaging when shrinking, bilinear when enlarging), then inverted
// when asked or, with --invert auto, when the border is light (a dark object on a light ground).
// Only a regular file is read (a FIFO would block), and its header's size is checked against
// kMaxPicturePixels before OpenCV decodes it; OpenCV's own failures are bad data (exit 3) too.
#include <cmath>
#include <new>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "fmnist/error.hpp"
#include "fmnist/predict.hpp"
#include "fmnist/regular_file.hpp"
#include "fmnist/text.hpp"
#include "picture_size.hpp"

namespace fmnist {
namespace {

constexpr double kLightBorder = 127.5;  // --invert auto inverts above this mean of the outermost pixels

constexpr std::size_t kMaxPictureFileBytes = std::size_t{1} << 30;

std::string file_bytes(const std::string& path) {
  std::string bytes = read_regular_file(path, Exit::data, kMaxPictureFileBytes);
  if (bytes.empty()) data_error(path, "empty file");
  return bytes;
}

// Refuses a picture of width x height whose padded copy (before resizing) would exceed the limit.
void check_size(const std::string& path, std::uint64_t width, std::uint64_t height, const ModelInput& in) {
  if (width == 0 || height == 0) data_error(path, "its header declares " + std::to_string(width) + " x " + std::to_string(height) + " pixels");
  const std::uint64_t padded = std::max(detail::padded_pixels(width, height, in.width, in.height),
                                        detail::padded_pixels(height, width, in.width, in.height));  // JPEG may turn it
  if (padded <= kMaxPicturePixels) return;
  data_error(path, std::to_string(width) + " x " + std::to_string(height) + " pixels, which padded to the model's " +
                 std::to_string(in.width) + " x " + std::to_string(in.height) + " aspect make " + with_commas(padded) +
                 ": more than the limit of " + with_commas(kMaxPicturePixels) + " pixels (crop or shrink it first)");
}

std::string depth_name(int depth) {
  switch (depth) {
    case CV_8S: return "8-bit signed";
    case CV_16S: return "16-bit signed";
    case CV_32S: return "32-bit integer";
    case CV_32F: return "32-bit float";
    case CV_64F: return "64-bit float";
    default: return "depth " + std::to_string(depth);
  }
}

// JPEG is decoded with its EXIF orientation applied (phone photos); everything else unchanged,
// so that alpha and 16-bit samples survive. JPEG has neither.
cv::Mat decode(const std::string& path, const std::string& bytes, const ModelInput& in) {
  const auto size = detail::picture_size(bytes);
  if (!size) data_error(path, "not a picture OpenCV can decode (PNG, JPEG, PGM, BMP, TIFF, WebP), or corrupt");
  check_size(path, size->width, size->height, in);
  const bool jpeg = bytes.starts_with("\xFF\xD8\xFF");
  const cv::Mat buffer(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<char*>(bytes.data()));
  cv::Mat image = cv::imdecode(buffer, jpeg ? cv::IMREAD_ANYCOLOR | cv::IMREAD_ANYDEPTH : cv::IMREAD_UNCHANGED);
  if (image.empty()) data_error(path, "not a picture OpenCV can decode (PNG, JPEG, PGM, BMP, TIFF, WebP), or corrupt");
  check_size(path, static_cast<std::uint64_t>(image.cols), static_cast<std::uint64_t>(image.rows), in);
  return image;
}

// 8-bit grey: 16-bit samples scaled by 255/65535, colour by ITU-R BT.601 weights (cv::cvtColor),
// transparent parts composited over white.
cv::Mat to_grey(const std::string& path, cv::Mat image) {
  if (image.depth() == CV_16U) {
    image.convertTo(image, CV_8U, 255.0 / 65535.0);
  } else if (image.depth() != CV_8U) {
    data_error(path, depth_name(image.depth()) + " samples: the model takes 8- or 16-bit pictures");
  }
  cv::Mat grey, alpha;
  switch (image.channels()) {
    case 1: return image;
    case 3: cv::cvtColor(image, grey, cv::COLOR_BGR2GRAY); return grey;
    case 4:
      cv::cvtColor(image, grey, cv::COLOR_BGRA2GRAY);
      cv::extractChannel(image, alpha, 3);
      break;
    default: data_error(path, std::to_string(image.channels()) + " channels: the model takes grey, RGB or RGBA pictures");
  }
  for (int r = 0; r < grey.rows; ++r) {
    std::uint8_t* g = grey.ptr<std::uint8_t>(r);
    const std::uint8_t* a = alpha.ptr<std::uint8_t>(r);
    for (int c = 0; c < grey.cols; ++c) g[c] = static_cast<std::uint8_t>((g[c] * a[c] + 255 * (255 - a[c]) + 127) / 255);
  }
  return grey;
}

// Pads the shorter side (both ends equally) so that width : height is the model's.
cv::Mat pad_to_aspect(const cv::Mat& grey, const ModelInput& in, double fill) {
  const double want = double(in.width) / in.height, have = double(grey.cols) / grey.rows;
  int rows = grey.rows, cols = grey.cols;
  if (have > want) rows = static_cast<int>(std::lround(grey.cols / want));
  if (have < want) cols = static_cast<int>(std::lround(grey.rows * want));
  if (rows == grey.rows && cols == grey.cols) return grey;
  cv::Mat padded;
  const int top = (rows - grey.rows) / 2, left = (cols - grey.cols) / 2;
  cv::copyMakeBorder(grey, padded, top, rows - grey.rows - top, left, cols - grey.cols - left, cv::BORDER_CONSTANT,
                     cv::Scalar(std::round(fill)));
  return padded;
}

// The mean of the outermost ring of pixels: the background, in most photos of one object.
double border_mean(const cv::Mat& grey) {
  double sum = 0;
  std::size_t count = 0;
  for (int r = 0; r < grey.rows; ++r) {
    const std::uint8_t* row = grey.ptr<std::uint8_t>(r);
    const bool edge_row = r == 0 || r == grey.rows - 1;
    for (int c = 0; c < grey.cols; c += edge_row || grey.cols == 1 ? 1 : grey.cols - 1) {
      sum += row[c];
      ++count;
    }
  }
  return sum / double(count);
}

cv::Mat fit_to_model(const cv::Mat& grey, const ModelInput& in, Invert invert) {
  const double border = border_mean(grey);
  const cv::Mat padded = pad_to_aspect(grey, in, border);
  cv::Mat out = padded;
  if (padded.rows != in.height || padded.cols != in.width) {
    const bool shrinking = padded.rows >= in.height && padded.cols >= in.width;
    cv::resize(padded, out, cv::Size(in.width, in.height), 0, 0, shrinking ? cv::INTER_AREA : cv::INTER_LINEAR);
  }
  if (invert == Invert::yes || (invert == Invert::automatic && border > kLightBorder)) {
    cv::Mat inverted;
    cv::bitwise_not(out, inverted);
    return inverted;
  }
  return out;
}

}  // namespace

std::vector<std::uint8_t> read_picture(const std::string& path, const ModelInput& input, Invert invert) {
  if (input.channels != 1) {
    data_error(path, "the model takes pictures of " + std::to_string(input.channels) + " channels; --predict reads grey pictures");
  }
  const std::string bytes = file_bytes(path);
  cv::Mat image;
  try {
    image = fit_to_model(to_grey(path, decode(path, bytes, input)), input, invert);
  } catch (const cv::Exception& e) {
    data_error(path, "cannot decode or convert the picture (OpenCV: " + e.msg + ")");
  } catch (const std::bad_alloc&) {
    data_error(path, "too large to decode in this machine's memory");
  }
  std::vector<std::uint8_t> pixels(input.pixels());  // (height, width, 1)
  for (int r = 0; r < image.rows; ++r) {
    const std::uint8_t* row = image.ptr<std::uint8_t>(r);
    std::copy(row, row + image.cols, pixels.data() + std::size_t(r) * std::size_t(image.cols));
  }
  return pixels;
}

}  // namespace fmnist
