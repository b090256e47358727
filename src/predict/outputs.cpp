// The model's outputs for export (--predict --outputs / --logits): the softmax Keras applies at
// the end of a model that ends in softmax, and NumPy's .npy format, which numpy.load, Node and
// C++ read without a library (a 10-byte preamble, a Python-dict header, then the raw values).
#include <bit>
#include <cstring>

#include "fmnist/predict.hpp"
#include "ranking.hpp"

namespace fmnist {

std::vector<float> model_outputs(const std::vector<float>& logits, const ModelInput& input) {
  if (!input.softmax_output) return logits;
  const auto classes = std::size_t(input.classes);
  std::vector<float> out(logits.size());
  for (std::size_t row = 0; row + classes <= logits.size(); row += classes) {
    const std::vector<double> p = detail::probabilities(logits.data() + row, input.classes);
    for (std::size_t c = 0; c < classes; ++c) out[row + c] = static_cast<float>(p[c]);
  }
  return out;
}

std::string npy_float32(const std::vector<float>& values, std::size_t rows, std::size_t cols) {
  static_assert(std::endian::native == std::endian::little, "the .npy writer assumes a little-endian host");
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(rows) + ", " +
                       std::to_string(cols) + "), }";
  // The preamble (10 bytes) and the header end on a multiple of 64 bytes, the header with '\n'.
  header.append(63 - (10 + header.size()) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  const std::size_t bytes = rows * cols * sizeof(float);
  out.resize(out.size() + bytes);
  std::memcpy(out.data() + out.size() - bytes, values.data(), bytes);
  return out;
}

}  // namespace fmnist
