// Helpers shared by the predict module's tests (test_predict*.cpp): real Fashion-MNIST images
// from the fixtures as OpenCV matrices, picture files written with OpenCV's own encoders, and a
// check that a call throws fmnist::Error with a given exit code, returning the message.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "fmnist/data.hpp"
#include "fmnist/error.hpp"
#include "fmnist/predict.hpp"
#include "expect_error.hpp"
#include "temp_dir.hpp"

namespace fmnist::test {

inline const std::string kIdx = std::string(FMNIST_FIXTURES) + "/idx";
inline const std::string kCsv = std::string(FMNIST_FIXTURES) + "/csv";
inline const ModelInput kTutorialInput{28, 28, 1, 10};

// The 20 test images of the fixtures.
inline const Dataset& fixture_test_set() {
  static const Dataset d = read_idx(kIdx + "/t10k-images-idx3-ubyte.gz", kIdx + "/t10k-labels-idx1-ubyte.gz");
  return d;
}

// Test image i of the fixtures as a 28x28 8-bit grey matrix (a copy).
inline cv::Mat fixture_image(std::size_t i) {
  return cv::Mat(28, 28, CV_8UC1, const_cast<std::uint8_t*>(fixture_test_set().image(i))).clone();
}

inline std::vector<std::uint8_t> bytes_of(const cv::Mat& grey) {
  const cv::Mat m = grey.isContinuous() ? grey : grey.clone();
  return {m.data, m.data + m.total()};
}

// Writes `image` with OpenCV's encoder for the file's extension; fails the test if it cannot.
inline std::string write_picture(const TempDir& dir, const std::string& name, const cv::Mat& image,
                                 const std::vector<int>& params = {}) {
  const std::string path = dir.file(name);
  EXPECT_TRUE(cv::imwrite(path, image, params)) << path;
  return path;
}

inline void write_text(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace fmnist::test
