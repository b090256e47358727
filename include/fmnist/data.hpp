// The data module: Fashion-MNIST images kept as bytes, the IDX and Kaggle CSV readers,
// the tutorial's train/validation split (numpy RandomState + Fisher-Yates, data/README.md),
// the per-epoch shuffle, and the per-batch conversion of bytes to floats in [0, 1].
// Readers validate every field and throw Error(Exit::data, "<file>:<line>: <what>").
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fmnist {

constexpr int kImageRows = 28;
constexpr int kImageCols = 28;
constexpr int kImagePixels = kImageRows * kImageCols;  // 784
constexpr int kNumClasses = 10;

inline constexpr std::array<const char*, kNumClasses> kClassNames = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

// Images stay uint8 in memory (60k x 784 B = 47 MB); batches are converted on the fly.
struct Dataset {
  std::vector<std::uint8_t> images;  // (n, 28, 28) row-major
  std::vector<std::uint8_t> labels;  // (n), each 0..9

  std::size_t size() const { return labels.size(); }
  const std::uint8_t* image(std::size_t i) const { return images.data() + i * kImagePixels; }
};

// IDX pair (magic 0x803 images of 28x28, magic 0x801 labels), gzip-compressed or plain:
// the reader looks at the gzip magic bytes, not the file name.
Dataset read_idx(const std::string& images_path, const std::string& labels_path);

// The four files of a folder: train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz],
// t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]; ".gz" is preferred when both exist.
struct TrainTest {
  Dataset train;
  Dataset test;
};
TrainTest read_idx_dir(const std::string& dir);

// Kaggle CSV: optional header "label,pixel1,...,pixel784", then rows of label (0..9) and 784
// integers (0..255). CRLF accepted. Errors name the file and 1-based line.
Dataset read_csv(const std::string& path);

// Images to classify (fmnist_inspect --predict), with labels where the file holds them.
struct ImageRecords {
  int rows = kImageRows, cols = kImageCols;
  std::vector<std::uint8_t> pixels;  // (n, rows, cols) row-major
  std::vector<std::uint8_t> labels;  // (n), or empty when the file holds none
  std::size_t size() const { return pixels.size() / (std::size_t(rows) * std::size_t(cols)); }
};
// An IDX images file with images of any size, and its labels when labels_path is not empty.
ImageRecords read_idx_records(const std::string& images_path, const std::string& labels_path);
// A Kaggle CSV with the label column (785 fields) or without it (784 fields, header
// "pixel1,...,pixel784" optional): the header or the first row decides, and every row must match.
ImageRecords read_csv_records(const std::string& path);
// The first four bytes of a file (after gzip decompression) as a big-endian number, 0 when it is
// shorter: 0x803 for IDX images, 0x801 for IDX labels.
std::uint32_t idx_magic(const std::string& path);

// numpy's legacy RandomState(seed).permutation(n), bit for bit (mt19937 + masked rejection).
std::vector<std::uint32_t> legacy_permutation(std::uint32_t n, std::uint32_t seed);

// sklearn's train_test_split(range(n), test_size, random_state=seed):
// n_test = ceil(test_size * n); validation = p[0:n_test], train = p[n_test:].
struct Split {
  std::vector<std::uint32_t> train;
  std::vector<std::uint32_t> validation;
};
Split train_test_split(std::uint32_t n, double test_size, std::uint32_t seed);

// The training order of one epoch: a permutation of 0..n-1 that depends only on (seed, epoch),
// so every rank derives it without communication.
std::vector<std::uint32_t> epoch_permutation(std::uint32_t n, std::uint64_t seed, std::uint64_t epoch);

// The samples of `source` at `indices`, in that order.
Dataset subset(const Dataset& source, const std::vector<std::uint32_t>& indices);

// out[i] = pixels[i] / 255 for i < count, rounded as the division in T.
template <typename T>
void scale_pixels(const std::uint8_t* pixels, std::size_t count, T* out);

// Converts n samples to a float batch: x (n, 28, 28, 1) = pixel / 255, y (n) labels.
template <typename T>
void load_batch(const Dataset& source, const std::uint32_t* indices, std::size_t n, T* x, std::uint8_t* y);

// A 64-bit FNV-1a digest of labels and images: ranks compare it at start-up.
std::uint64_t fingerprint(const Dataset& d);
// The same digest of any bytes (the ranks' model JSON), the same on every machine and build.
std::uint64_t fingerprint(std::string_view bytes);

}  // namespace fmnist
