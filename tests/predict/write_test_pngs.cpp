// Test-only: writes every image of an IDX pair as OUT/<label>/<index>.png (28x28 8-bit grey,
// lossless, through OpenCV's libpng), the class-subfolder layout that fmnist_inspect --predict
// reads with labels. Usage: write_test_pngs IMAGES LABELS OUT
#include <cstdio>
#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "fmnist/data.hpp"
#include "fmnist/error.hpp"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: write_test_pngs IMAGES LABELS OUT\n");
    return 2;
  }
  try {
    const fmnist::Dataset d = fmnist::read_idx(argv[1], argv[2]);
    for (int c = 0; c < fmnist::kNumClasses; ++c) std::filesystem::create_directories(std::string(argv[3]) + "/" + std::to_string(c));
    for (std::size_t i = 0; i < d.size(); ++i) {
      const cv::Mat image(fmnist::kImageRows, fmnist::kImageCols, CV_8UC1, const_cast<std::uint8_t*>(d.image(i)));
      char name[64];
      std::snprintf(name, sizeof name, "/%d/%05zu.png", d.labels[i], i);
      if (!cv::imwrite(argv[3] + std::string(name), image)) {
        std::fprintf(stderr, "write_test_pngs: cannot write %s%s\n", argv[3], name);
        return 1;
      }
    }
    std::printf("wrote %zu PNG files to %s\n", d.size(), argv[3]);
  } catch (const fmnist::Error& e) {
    std::fprintf(stderr, "write_test_pngs: %s\n", e.what());
    return e.exit_code();
  }
  return 0;
}
