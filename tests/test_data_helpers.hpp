// Helpers shared by the data module's tests (test_data*.cpp): a temporary folder that removes
// itself, writers for plain, gzip and hand-made IDX files, and a check that a call throws
// fmnist::Error with Exit::data, returning the message so each test can check what it names.
#pragma once

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "fmnist/data.hpp"
#include "expect_error.hpp"
#include "temp_dir.hpp"
#include "fmnist/error.hpp"

namespace fmnist::test {

inline const std::string kFixtures = FMNIST_FIXTURES;


inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

inline void write_gz(const std::string& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  if (!bytes.empty()) {
    ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())), int(bytes.size()));
  }
  ASSERT_EQ(gzclose(f), Z_OK);
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline std::string be32(std::uint32_t v) {
  return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
}

// An IDX images file: header (magic, count, rows, cols) and `payload` bytes of pixels.
inline std::string idx_images(std::uint32_t count, std::size_t payload, std::uint32_t rows = 28,
                              std::uint32_t cols = 28, std::uint32_t magic = 0x803) {
  std::string bytes = be32(magic) + be32(count) + be32(rows) + be32(cols);
  for (std::size_t i = 0; i < payload; ++i) bytes += char(i * 7 % 256);
  return bytes;
}

inline std::string idx_labels(const std::vector<std::uint8_t>& labels, std::uint32_t magic = 0x801) {
  return be32(magic) + be32(static_cast<std::uint32_t>(labels.size())) + std::string(labels.begin(), labels.end());
}

inline std::uint64_t pixel_sum(const Dataset& d, std::size_t i) {
  return std::accumulate(d.image(i), d.image(i) + kImagePixels, std::uint64_t{0});
}

}  // namespace fmnist::test
