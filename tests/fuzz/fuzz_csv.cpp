// libFuzzer target for fmnist::read_csv: any byte string either parses into a consistent
// Dataset (784 pixels per label, labels 0..9) or is rejected with fmnist::Error(Exit::data).
// A crash, a sanitizer report or any other exception is a bug.
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
  return 0;
}
