// How numbers, shapes and file endings read in every message and table of the project, written
// once: shapes as Python tuples ("(3, 3, 1, 32)", "(10,)", Keras's "(None, 26, 26, 32)"), counts
// with thousands separators ("93,322"), doubles (shortest) and learning rates (float32, as Keras
// prints them) and a file's extension in lower case (".png"). Header-only,
// so every module, the programs and the tests use the same text without a link dependency.
#pragma once

#include <cctype>
#include <charconv>
#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

namespace fmnist {

// A shape as a Python tuple: "(3, 3, 1, 32)", "(10,)", "()". Any integer type (int, hsize_t).
template <typename Int>
std::string shape_text(const std::vector<Int>& shape) {
  std::string text = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + (shape.size() == 1 ? ",)" : ")");
}

// A layer output's shape as Keras's summary prints it, with the batch first: "(None, 26, 26, 32)".
inline std::string batch_shape_text(const std::vector<int>& shape) {
  std::string text = "(None";
  for (int d : shape) text += ", " + std::to_string(d);
  return text + ")";
}

// A file name's extension in lower case, with its dot: "Errors.PNG" -> ".png"; "" without one.
inline std::string lower_extension(const std::string& path) {
  const auto dot = path.rfind('.');
  std::string ext = dot == std::string::npos || path.find('/', dot) != std::string::npos ? "" : path.substr(dot);
  for (char& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return ext;
}

// A double as every message, table and file prints it: the shortest text that reads back as the
// same double ("0.001", "1e-07", "inf", "nan").
inline std::string number_text(double value) {
  char text[32];
  const auto result = std::to_chars(text, text + sizeof text, value);
  return std::string(text, result.ptr);
}

// A learning rate as Keras prints it: rounded to float32 (Keras's variable) and printed with %.7g
// ("0.0001", "5e-05"), as in "ReduceLROnPlateau reducing learning rate to 0.0001." and the epoch's line.
inline std::string float32_text(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.7g", static_cast<double>(static_cast<float>(value)));
  return text;
}

// 93322 -> "93,322".
inline std::string with_commas(std::size_t value) {
  const std::string digits = std::to_string(value);
  std::string text;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) text += ',';
    text += digits[i];
  }
  return text;
}

}  // namespace fmnist
