// Operations on an in-memory Dataset: selecting samples, converting a batch of bytes to
// floating point in [0, 1] (pixel / 255, exactly as numpy's X / 255.0), and the FNV-1a
// fingerprint that ranks compare at start-up.
#include <algorithm>
#include <array>

#include "fmnist/data.hpp"
#include "fmnist/error.hpp"

namespace fmnist {
namespace {

void check_index(const Dataset& source, std::uint32_t index) {
  if (index >= source.size()) {
    throw Error(Exit::internal,
                "sample index " + std::to_string(index) + " out of range (" + std::to_string(source.size()) + " samples)");
  }
}

class Fnv1a {
 public:
  void add(const std::uint8_t* bytes, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) hash_ = (hash_ ^ bytes[i]) * 1099511628211ull;
  }
  void add_u64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      const auto byte = static_cast<std::uint8_t>(v >> (8 * i));  // little-endian, on every host
      add(&byte, 1);
    }
  }
  std::uint64_t value() const { return hash_; }

 private:
  std::uint64_t hash_ = 14695981039346656037ull;
};

}  // namespace

Dataset subset(const Dataset& source, const std::vector<std::uint32_t>& indices) {
  Dataset out;
  out.labels.resize(indices.size());
  out.images.resize(indices.size() * kImagePixels);
  for (std::size_t i = 0; i < indices.size(); ++i) {
    check_index(source, indices[i]);
    out.labels[i] = source.labels[indices[i]];
    std::copy_n(source.image(indices[i]), kImagePixels, out.images.data() + i * kImagePixels);
  }
  return out;
}

template <typename T>
void scale_pixels(const std::uint8_t* pixels, std::size_t count, T* out) {
  static const std::array<T, 256> scaled = [] {  // scaled[v] == T(v) / T(255), the same rounding as a division
    std::array<T, 256> table;
    for (int v = 0; v < 256; ++v) table[v] = static_cast<T>(v) / static_cast<T>(255);
    return table;
  }();
  for (std::size_t i = 0; i < count; ++i) out[i] = scaled[pixels[i]];
}

template <typename T>
void load_batch(const Dataset& source, const std::uint32_t* indices, std::size_t n, T* x, std::uint8_t* y) {
  for (std::size_t i = 0; i < n; ++i) {
    check_index(source, indices[i]);
    scale_pixels(source.image(indices[i]), kImagePixels, x + i * kImagePixels);  // (28, 28) -> (28, 28, 1)
    y[i] = source.labels[indices[i]];
  }
}

template void scale_pixels<float>(const std::uint8_t*, std::size_t, float*);
template void scale_pixels<double>(const std::uint8_t*, std::size_t, double*);
template void load_batch<float>(const Dataset&, const std::uint32_t*, std::size_t, float*, std::uint8_t*);
template void load_batch<double>(const Dataset&, const std::uint32_t*, std::size_t, double*, std::uint8_t*);

std::uint64_t fingerprint(const Dataset& d) {
  Fnv1a hash;
  hash.add_u64(d.size());
  hash.add(d.labels.data(), d.labels.size());
  hash.add(d.images.data(), d.images.size());
  return hash.value();
}

std::uint64_t fingerprint(std::string_view bytes) {
  Fnv1a hash;
  hash.add(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  return hash.value();
}

}  // namespace fmnist
