// Runs an exported ONNX model with OpenCV's dnn module (an ONNX importer and runtime of its own,
// independent of ours and of ONNX Runtime) on the images of an IDX file, and writes both outputs
// as float32 .npy files for compare.py. The images go in as the export takes them: float32
// (N, h, w, 1) NHWC with pixels in [0, 1]. Usage: onnx_opencv_run MODEL.onnx IMAGES.idx[.gz] OUTPUT.npy LOGITS.npy
#include <algorithm>
#include <cstdio>
#include <exception>
#include <opencv2/dnn.hpp>
#include <string>
#include <vector>

#include "fmnist/atomic_file.hpp"
#include "fmnist/data.hpp"
#include "fmnist/predict.hpp"

namespace {

constexpr std::size_t kBatch = 1000;  // images per forward pass (the batch dimension is dynamic)

// Appends the (count, classes) float32 output `m` to `out`; returns classes.
std::size_t append(const cv::Mat& m, std::size_t count, std::vector<float>& out) {
  if (m.dims != 2 || m.type() != CV_32F || std::size_t(m.size[0]) != count || !m.isContinuous()) {
    throw std::runtime_error("unexpected output: " + std::to_string(m.dims) + " dimensions, first " +
                             std::to_string(m.size[0]) + ", expected (" + std::to_string(count) + ", classes) float32");
  }
  out.insert(out.end(), m.ptr<float>(), m.ptr<float>() + m.total());
  return std::size_t(m.size[1]);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: onnx_opencv_run MODEL.onnx IMAGES.idx[.gz] OUTPUT.npy LOGITS.npy\n");
    return 2;
  }
  try {
    const fmnist::ImageRecords images = fmnist::read_idx_records(argv[2], "");
    const std::size_t n = images.size(), pixels = std::size_t(images.rows) * std::size_t(images.cols);
    cv::dnn::Net net = cv::dnn::readNetFromONNX(argv[1]);
    std::vector<float> outputs, logits;  // (n, classes) each
    std::size_t classes = 0;
    for (std::size_t start = 0; start < n; start += kBatch) {
      const std::size_t count = std::min(kBatch, n - start);
      cv::Mat x({int(count), images.rows, images.cols, 1}, CV_32F);  // (count, h, w, 1)
      fmnist::scale_pixels(images.pixels.data() + start * pixels, count * pixels, x.ptr<float>());
      net.setInput(x, "input");
      std::vector<cv::Mat> y;
      net.forward(y, std::vector<cv::String>{"output", "logits"});
      classes = append(y.at(0), count, outputs);
      append(y.at(1), count, logits);
    }
    fmnist::write_file_atomically(argv[3], fmnist::npy_float32(outputs, n, classes));
    fmnist::write_file_atomically(argv[4], fmnist::npy_float32(logits, n, classes));
    std::printf("OpenCV %s dnn: %zu images, %zu classes\n", CV_VERSION, n, classes);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "onnx_opencv_run: %s: %s\n", argv[1], e.what());
    return 1;
  }
}
