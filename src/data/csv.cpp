// The Kaggle CSV reader (fashion-mnist_train.csv / _test.csv): an optional header
// "label,pixel1,...,pixel784", then rows of a label and 784 pixels. Hand-written and streaming
// (a 4 MB buffer, no iostream per field) so the 130 MB training file parses in about a second.
#include <algorithm>
#include <cstring>

#include "fmnist/data.hpp"
#include "fmnist/error.hpp"
#include "input_file.hpp"

namespace fmnist {
namespace {

constexpr int kFields = 1 + kImagePixels;          // 785: label, pixel1..pixel784
constexpr std::size_t kMinRowBytes = 2 * kFields;  // single digits, commas and '\n'

struct Number {
  const char* end;  // where parsing stopped
  bool ok;          // an optional sign and at least one digit, then ',' or the end of the line
  bool negative;
  unsigned value;   // saturates at 1,000,000: enough to tell "out of range"
};

Number parse_integer(const char* p, const char* end) {
  Number n{p, false, false, 0};
  if (p < end && (*p == '-' || *p == '+')) n.negative = *p++ == '-';
  const char* digits = p;
  while (p < end && static_cast<unsigned char>(*p - '0') < 10) {
    n.value = std::min(n.value * 10 + static_cast<unsigned>(*p - '0'), 1000000u);
    ++p;
  }
  n.end = p;
  n.ok = p > digits && (p == end || *p == ',');
  return n;
}

std::string token(const char* begin, const char* end) {
  const char* stop = std::find(begin, end, ',');
  std::string text(begin, std::min<std::size_t>(static_cast<std::size_t>(stop - begin), 20));
  return stop - begin > 20 ? text + "..." : text;
}

std::size_t count_fields(const char* begin, const char* end) {
  return static_cast<std::size_t>(std::count(begin, end, ',')) + 1;
}

class CsvParser {
 public:
  CsvParser(const std::string& path, Dataset& out) : path_(path), out_(out) {}

  // One line, without its '\n'.
  void line(const char* begin, const char* end) {
    ++line_;
    if (line_ == 1 && end - begin >= 3 && std::memcmp(begin, "\xEF\xBB\xBF", 3) == 0) begin += 3;  // UTF-8 BOM
    if (end > begin && end[-1] == '\r') --end;
    if (begin == end) {
      if (blank_line_ == 0) blank_line_ = line_;
      return;
    }
    if (blank_line_ != 0) fail(blank_line_, "blank line in the middle of the data");
    if (!seen_first_) {
      seen_first_ = true;
      if (!parse_integer(begin, end).ok) return header(begin, end);
    }
    row(begin, end);
  }

  void finish() const {
    if (out_.labels.empty()) {
      throw Error(Exit::data, path_ + ": no data rows" + (seen_first_ ? " (only a header)" : " (empty file)"));
    }
  }

 private:
  [[noreturn]] void fail(std::size_t line, const std::string& what) const {
    throw Error(Exit::data, path_ + ":" + std::to_string(line) + ": " + what);
  }

  void header(const char* begin, const char* end) const {
    const std::size_t fields = count_fields(begin, end);
    if (fields != kFields) {
      fail(line_, "header has " + std::to_string(fields) + " columns, expected 785 (label,pixel1,...,pixel784)");
    }
  }

  void row(const char* begin, const char* end) {
    const std::size_t base = out_.images.size();
    out_.images.resize(base + kImagePixels);
    std::uint8_t* pixels = out_.images.data() + base;  // (784)
    std::uint8_t label = 0;
    const char* p = begin;
    for (int field = 1;; ++field) {
      const Number n = parse_integer(p, end);
      if (!n.ok) fail(line_, "field " + std::to_string(field) + " ('" + token(p, end) + "') is not an integer");
      const bool negative = n.negative && n.value != 0;
      if (field == 1) {
        if (negative || n.value >= kNumClasses) fail(line_, "label " + token(p, end) + " out of range 0..9");
        label = static_cast<std::uint8_t>(n.value);
      } else {
        if (negative || n.value > 255) {
          fail(line_, "pixel " + token(p, end) + " out of range 0..255 (field " + std::to_string(field) + ")");
        }
        pixels[field - 2] = static_cast<std::uint8_t>(n.value);
      }
      if (n.end == end || field == kFields) {
        if (n.end != end || field != kFields) {
          fail(line_, "expected 785 fields, found " + std::to_string(count_fields(begin, end)));
        }
        break;
      }
      p = n.end + 1;  // past the comma
    }
    out_.labels.push_back(label);
  }

  const std::string& path_;
  Dataset& out_;
  std::size_t line_ = 0;        // 1-based number of the current line
  std::size_t blank_line_ = 0;  // the first blank line seen, 0 if none
  bool seen_first_ = false;     // the first non-blank line (header or data) has been seen
};

}  // namespace

Dataset read_csv(const std::string& path) {
  detail::InputFile file(path);
  Dataset d;
  const std::size_t row_bound = static_cast<std::size_t>(file.size_on_disk() / kMinRowBytes) + 1;
  d.labels.reserve(row_bound);
  d.images.reserve(row_bound * kImagePixels);  // untouched capacity costs address space, not memory

  CsvParser parser(path, d);
  std::vector<char> buffer(std::size_t{4} << 20);
  std::size_t have = 0;
  for (;;) {
    const std::size_t got = file.read(buffer.data() + have, buffer.size() - have);
    const bool at_end = have + got < buffer.size();  // read() is short only at the end of the data
    have += got;
    const char* line = buffer.data();
    const char* end = buffer.data() + have;
    for (const char* nl; (nl = static_cast<const char*>(std::memchr(line, '\n', end - line))) != nullptr;
         line = nl + 1) {
      parser.line(line, nl);
    }
    if (at_end) {
      if (line < end) parser.line(line, end);  // the last line has no '\n'
      break;
    }
    have = static_cast<std::size_t>(end - line);
    std::memmove(buffer.data(), line, have);
    if (have == buffer.size()) buffer.resize(buffer.size() * 2);  // a line longer than the buffer
  }
  parser.finish();
  return d;
}

}  // namespace fmnist
