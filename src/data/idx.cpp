// The IDX reader (http://yann.lecun.com/exdb/mnist/ format, as shipped by Debian's
// dataset-fashion-mnist): big-endian header, then unsigned bytes. Validates magic, dimensions,
// exact payload length and label range, and reads .gz and plain files alike. Training takes
// 28x28 images with labels; prediction takes images of any size, with or without labels.
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "fmnist/data.hpp"
#include "fmnist/error.hpp"
#include "input_file.hpp"

namespace fmnist {
namespace {

using detail::InputFile;

constexpr std::uint32_t kImagesMagic = 0x00000803;  // unsigned byte, 3 dimensions
constexpr std::uint32_t kLabelsMagic = 0x00000801;  // unsigned byte, 1 dimension

std::uint32_t big_endian(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

std::string hex32(std::uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08X", static_cast<unsigned>(value));
  return text;
}

// Reads the header (magic and dimension sizes); `header` holds 4 + 4 * dims bytes.
void read_header(InputFile& file, unsigned char* header, std::size_t bytes, std::uint32_t magic,
                 const char* kind) {
  const std::size_t got = file.read(header, bytes);
  if (got == 0) file.fail(file.empty_reason() + ", expected an " + kind + " file");
  if (got >= 4 && big_endian(header) != magic) {
    file.fail("wrong magic " + hex32(big_endian(header)) + ", expected " + hex32(magic) + " (" + kind + ")");
  }
  if (got < bytes) {
    file.fail("truncated header: expected " + std::to_string(bytes) + " bytes, found " + std::to_string(got));
  }
}

// Reads exactly `expected` bytes and checks nothing follows. Grows the buffer as data arrives,
// so a corrupt count in the header cannot make us allocate more than the file holds.
std::vector<std::uint8_t> read_payload(InputFile& file, std::uint64_t expected, const char* what) {
  constexpr std::size_t kChunk = std::size_t{16} << 20;
  std::vector<std::uint8_t> data;
  data.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(expected, 8 * kChunk)));
  while (data.size() < expected) {
    const std::size_t have = data.size();
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, expected - have));
    data.resize(have + want);
    const std::size_t got = file.read(data.data() + have, want);
    if (got < want) {
      file.fail("truncated: expected " + std::to_string(expected) + " bytes of " + what + ", found " +
                std::to_string(have + got));
    }
  }
  std::uint64_t trailing = 0;
  unsigned char scratch[4096];
  for (std::size_t got; (got = file.read(scratch, sizeof scratch)) > 0;) trailing += got;
  if (trailing > 0) {
    file.fail(std::to_string(trailing) + " trailing bytes after the " + std::to_string(expected) + " bytes of " +
              what + " that the header announces");
  }
  return data;
}

std::vector<std::uint8_t> read_labels(const std::string& path) {
  InputFile file(path);
  unsigned char header[8];
  read_header(file, header, sizeof header, kLabelsMagic, "IDX labels");
  std::vector<std::uint8_t> labels = read_payload(file, big_endian(header + 4), "label data");
  const auto bad = std::find_if(labels.begin(), labels.end(), [](std::uint8_t l) { return l >= kNumClasses; });
  if (bad != labels.end()) {
    file.fail("label " + std::to_string(*bad) + " out of range 0..9 at record " +
              std::to_string(bad - labels.begin()) + " (0-based)");
  }
  return labels;
}

std::string existing_idx_file(const std::filesystem::path& dir, const std::string& stem) {
  const std::string gz = (dir / (stem + ".gz")).string();
  const std::string plain = (dir / stem).string();
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    throw Error(Exit::data, gz + ": cannot open (the folder " + dir.string() + " does not exist)");
  }
  if (std::filesystem::exists(gz, ec)) return gz;
  if (std::filesystem::exists(plain, ec)) return plain;
  throw Error(Exit::data, gz + ": cannot open (no such file, and no uncompressed " + stem + " either)");
}

// The header of an images file: (count, rows, cols).
struct ImagesHeader {
  std::uint32_t count, rows, cols;
};

ImagesHeader read_images_header(InputFile& file) {
  unsigned char header[16];
  read_header(file, header, sizeof header, kImagesMagic, "IDX images");
  return {big_endian(header + 4), big_endian(header + 8), big_endian(header + 12)};
}

void check_count(const InputFile& file, std::uint32_t count, const std::string& labels_path, std::size_t labels) {
  if (count != labels) {
    file.fail("holds " + std::to_string(count) + " images, but " + labels_path + " holds " + std::to_string(labels) +
              " labels");
  }
}

}  // namespace

Dataset read_idx(const std::string& images_path, const std::string& labels_path) {
  Dataset d;
  d.labels = read_labels(labels_path);

  InputFile file(images_path);
  const ImagesHeader h = read_images_header(file);
  if (h.rows != kImageRows || h.cols != kImageCols) {
    file.fail("images are " + std::to_string(h.rows) + "x" + std::to_string(h.cols) + ", expected 28x28");
  }
  check_count(file, h.count, labels_path, d.labels.size());
  d.images = read_payload(file, std::uint64_t{h.count} * kImagePixels, "image data");
  return d;
}

ImageRecords read_idx_records(const std::string& images_path, const std::string& labels_path) {
  ImageRecords r;
  if (!labels_path.empty()) r.labels = read_labels(labels_path);
  InputFile file(images_path);
  const ImagesHeader h = read_images_header(file);
  if (h.rows == 0 || h.cols == 0 || h.rows > 1u << 15 || h.cols > 1u << 15) {
    file.fail("images are " + std::to_string(h.rows) + "x" + std::to_string(h.cols) + ", expected 1 to 32768 pixels a side");
  }
  if (!labels_path.empty()) check_count(file, h.count, labels_path, r.labels.size());
  r.rows = static_cast<int>(h.rows);
  r.cols = static_cast<int>(h.cols);
  r.pixels = read_payload(file, std::uint64_t{h.count} * h.rows * h.cols, "image data");
  return r;
}

std::uint32_t idx_magic(const std::string& path) {
  InputFile file(path);
  unsigned char magic[4];
  return file.read(magic, sizeof magic) == sizeof magic ? big_endian(magic) : 0;
}

TrainTest read_idx_dir(const std::string& dir) {
  // Find all four files before reading any, so a missing one is reported at once.
  const std::filesystem::path folder(dir);
  const std::string train_images = existing_idx_file(folder, "train-images-idx3-ubyte");
  const std::string train_labels = existing_idx_file(folder, "train-labels-idx1-ubyte");
  const std::string test_images = existing_idx_file(folder, "t10k-images-idx3-ubyte");
  const std::string test_labels = existing_idx_file(folder, "t10k-labels-idx1-ubyte");
  return TrainTest{read_idx(train_images, train_labels), read_idx(test_images, test_labels)};
}

}  // namespace fmnist
