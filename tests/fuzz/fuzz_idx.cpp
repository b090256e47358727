// libFuzzer target for fmnist::read_idx and read_idx_records: the input is split into a labels
// file and an images file (the first two bytes give the labels file's length, little-endian,
// modulo what is left); either part may be gzip-compressed or plain. Every input either reads
// into consistent images or is rejected with fmnist::Error(Exit::data); anything else is a bug.
#include <cstdint>
#include <cstdlib>

#include "fmnist/data.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string labels_path = fuzz::temp_path("idx_labels");
  static const std::string images_path = fuzz::temp_path("idx_images");
  static const int cleanup = std::atexit([] {
    std::remove(labels_path.c_str());
    std::remove(images_path.c_str());
  });
  (void)cleanup;
  if (size < 2) return 0;
  const std::size_t rest = size - 2;
  const std::size_t labels_size = (std::size_t{data[0]} | std::size_t{data[1]} << 8) % (rest + 1);
  fuzz::write_file(labels_path, data + 2, labels_size);
  fuzz::write_file(images_path, data + 2 + labels_size, rest - labels_size);
  try {
    const fmnist::Dataset d = fmnist::read_idx(images_path, labels_path);
    fuzz::require(d.images.size() == d.size() * fmnist::kImagePixels, "784 pixels per label");
    for (std::uint8_t label : d.labels) fuzz::require(label < fmnist::kNumClasses, "labels are 0..9");
  } catch (const fmnist::Error& e) {
    fuzz::expect_data_error(e);
  }
  try {
    const fmnist::ImageRecords r = fmnist::read_idx_records(images_path, labels_path);
    fuzz::require(r.rows > 0 && r.cols > 0, "images have pixels");
    fuzz::require(r.pixels.size() == r.size() * std::size_t(r.rows) * std::size_t(r.cols), "whole images");
    fuzz::require(r.labels.size() == r.size(), "one label per image");
  } catch (const fmnist::Error& e) {
    fuzz::expect_data_error(e);
  }
  return 0;
}
