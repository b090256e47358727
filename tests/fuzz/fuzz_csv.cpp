// libFuzzer target for fmnist::read_csv and read_csv_records (the label column optional): any
// byte string either parses into consistent images (784 pixels each, labels 0..9 for all or none)
// or is rejected with fmnist::Error(Exit::data). A crash, a sanitizer report or any other exception is a bug.
#include <cstdint>
#include <cstdlib>

#include "fmnist/data.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = fuzz::temp_path("csv");
  static const int cleanup = std::atexit([] { std::remove(path.c_str()); });
  (void)cleanup;
  fuzz::write_file(path, data, size);
  try {
    const fmnist::Dataset d = fmnist::read_csv(path);
    fuzz::require(d.size() > 0, "an accepted CSV has at least one row");
    fuzz::require(d.images.size() == d.size() * fmnist::kImagePixels, "784 pixels per row");
    for (std::uint8_t label : d.labels) fuzz::require(label < fmnist::kNumClasses, "labels are 0..9");
  } catch (const fmnist::Error& e) {
    fuzz::expect_data_error(e);
  }
  try {
    const fmnist::ImageRecords r = fmnist::read_csv_records(path);
    fuzz::require(r.size() > 0 && r.pixels.size() == r.size() * fmnist::kImagePixels, "784 pixels per row");
    fuzz::require(r.labels.empty() || r.labels.size() == r.size(), "labels for every row or none");
    for (std::uint8_t label : r.labels) fuzz::require(label < fmnist::kNumClasses, "labels are 0..9");
  } catch (const fmnist::Error& e) {
    fuzz::expect_data_error(e);
  }
  return 0;
}
