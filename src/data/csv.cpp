// The Kaggle CSV reader (fashion-mnist_train.csv / _test.csv): an optional header
// "label,pixel1,...,pixel784", then rows of a label and 784 pixels; for prediction the label
// column may be missing (784 fields). Hand-written and streaming (a 4 MB buffer, no iostream per
// field) so the 130 MB training file parses in about a second.
#include <algorithm>
#include <cstring>

#include "fmnist/data.hpp"
#include "fmnist/error.hpp"
#include "input_file.hpp"

namespace fmnist {
namespace {

constexpr int kFields = 1 + kImagePixels;          // 785: label, pixel1..pixel784
constexpr std::size_t kMinRowBytes = 2 * kImagePixels;  // single digits, commas and '\n'

enum class LabelColumn { required, optional };

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
  CsvParser(const std::string& path, LabelColumn labels, std::vector<std::uint8_t>& pixels,
            std::vector<std::uint8_t>& label_values)
      : path_(path), fields_(labels == LabelColumn::required ? kFields : 0), pixels_(pixels), labels_(label_values) {}

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
      const bool is_header = !parse_integer(begin, end).ok;
      if (fields_ == 0) decide_width(count_fields(begin, end), is_header ? "header" : "row");
      if (is_header) return header(begin, end);
    }
    row(begin, end);
  }

  void finish() const {
    if (rows_ == 0) {
      throw Error(Exit::data, path_ + ": no data rows" + (seen_first_ ? " (only a header)" : " (empty file)"));
    }
  }

  bool labelled() const { return fields_ == kFields; }

 private:
  [[noreturn]] void fail(std::size_t line, const std::string& what) const {
    throw Error(Exit::data, path_ + ":" + std::to_string(line) + ": " + what);
  }

  // With an optional label column, the first line (header or row) sets the width of every row.
  void decide_width(std::size_t fields, const char* what) {
    if (fields != kFields && fields != kImagePixels) {
      fail(line_, std::string(what) + " has " + std::to_string(fields) +
                      " fields, expected 785 (label and 784 pixels) or 784 (pixels only)");
    }
    fields_ = static_cast<int>(fields);
  }

  void header(const char* begin, const char* end) const {
    const std::size_t fields = count_fields(begin, end);
    if (fields != std::size_t(fields_)) {
      fail(line_, "header has " + std::to_string(fields) + " columns, expected 785 (label,pixel1,...,pixel784)");
    }
  }

  void row(const char* begin, const char* end) {
    const int first_pixel = labelled() ? 2 : 1;  // 1-based field of pixel1
    const std::size_t base = pixels_.size();
    pixels_.resize(base + kImagePixels);
    std::uint8_t* pixels = pixels_.data() + base;  // (784)
    const char* p = begin;
    for (int field = 1;; ++field) {
      const Number n = parse_integer(p, end);
      if (!n.ok) fail(line_, "field " + std::to_string(field) + " ('" + token(p, end) + "') is not an integer");
      const bool negative = n.negative && n.value != 0;
      if (field < first_pixel) {
        if (negative || n.value >= kNumClasses) fail(line_, "label " + token(p, end) + " out of range 0..9");
        labels_.push_back(static_cast<std::uint8_t>(n.value));
      } else {
        if (negative || n.value > 255) {
          fail(line_, "pixel " + token(p, end) + " out of range 0..255 (field " + std::to_string(field) + ")");
        }
        pixels[field - first_pixel] = static_cast<std::uint8_t>(n.value);
      }
      if (n.end == end || field == fields_) {
        if (n.end != end || field != fields_) {
          fail(line_, "expected " + std::to_string(fields_) + " fields, found " + std::to_string(count_fields(begin, end)));
        }
        break;
      }
      p = n.end + 1;  // past the comma
    }
    ++rows_;
  }

  const std::string& path_;
  int fields_;                          // 785 or 784; 0 until the first line decides
  std::vector<std::uint8_t>& pixels_;   // (rows, 784)
  std::vector<std::uint8_t>& labels_;   // (rows), or empty without a label column
  std::size_t rows_ = 0;
  std::size_t line_ = 0;        // 1-based number of the current line
  std::size_t blank_line_ = 0;  // the first blank line seen, 0 if none
  bool seen_first_ = false;     // the first non-blank line (header or data) has been seen
};

// Streams the file through the parser; returns whether it had a label column.
bool parse_csv(const std::string& path, LabelColumn labels, std::vector<std::uint8_t>& pixels,
               std::vector<std::uint8_t>& label_values) {
  detail::InputFile file(path);
  const std::size_t row_bound = static_cast<std::size_t>(file.size_on_disk() / kMinRowBytes) + 1;
  label_values.reserve(row_bound);
  pixels.reserve(row_bound * kImagePixels);  // untouched capacity costs address space, not memory

  CsvParser parser(path, labels, pixels, label_values);
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
  return parser.labelled();
}

}  // namespace

Dataset read_csv(const std::string& path) {
  Dataset d;
  parse_csv(path, LabelColumn::required, d.images, d.labels);
  return d;
}

ImageRecords read_csv_records(const std::string& path) {
  ImageRecords r;
  parse_csv(path, LabelColumn::optional, r.pixels, r.labels);
  return r;
}

}  // namespace fmnist
