// Picture sizes from file headers (picture_size.hpp), each format's layout as its specification
// gives it: PNG's IHDR chunk; JPEG's first SOFn segment; the PNM header's tokens and PAM's WIDTH and
// HEIGHT lines; BMP's info header; TIFF's (and BigTIFF's) first IFD entries 256 and 257; WebP's
// VP8, VP8L or VP8X chunk. Every read is bounds-checked: a short or hostile header gives nothing.
#include "picture_size.hpp"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <string>

namespace fmnist::detail {
namespace {

using Bytes = std::string_view;

unsigned at_byte(const Bytes& b, std::size_t at) { return static_cast<unsigned char>(b[at]); }

// Unsigned integers of `n` bytes at `at`, big- or little-endian; nothing past the end.
std::optional<std::uint64_t> number(const Bytes& b, std::size_t at, std::size_t n, bool big) {
  if (at > b.size() || n > b.size() - at) return std::nullopt;
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v |= std::uint64_t{at_byte(b, at + i)} << (8 * (big ? n - 1 - i : i));
  return v;
}

bool starts_with(const Bytes& b, std::size_t at, std::string_view text) {
  return at <= b.size() && b.substr(at).starts_with(text);
}

std::optional<PictureSize> sized(std::optional<std::uint64_t> w, std::optional<std::uint64_t> h) {
  if (!w || !h) return std::nullopt;
  return PictureSize{*w, *h};
}

std::optional<PictureSize> png_size(const Bytes& b) {
  if (!starts_with(b, 12, "IHDR")) return std::nullopt;
  return sized(number(b, 16, 4, true), number(b, 20, 4, true));
}

// Markers from after SOI: standalone ones (TEM, RSTn) have no length; SOF0-15 but DHT (C4), JPG (C8)
// and DAC (CC) carry the frame's height and width; a scan (SOS) or the end before any SOF: nothing.
std::optional<PictureSize> jpeg_size(const Bytes& b) {
  std::size_t at = 2;
  while (at + 1 < b.size()) {
    if (at_byte(b, at) != 0xFF) return std::nullopt;
    const unsigned marker = at_byte(b, at + 1);
    at += 2;
    if (marker == 0xFF) {
      at -= 1;  // a fill byte
      continue;
    }
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) continue;
    if (marker == 0xD9 || marker == 0xDA) return std::nullopt;
    const auto length = number(b, at, 2, true);
    if (!length || *length < 2) return std::nullopt;
    if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC)
      return sized(number(b, at + 5, 2, true), number(b, at + 3, 2, true));
    at += *length;
  }
  return std::nullopt;
}

// The next decimal token of a PNM header, after whitespace and '#' comments.
std::optional<std::uint64_t> pnm_token(const Bytes& b, std::size_t& at) {
  while (at < b.size() && (std::isspace(at_byte(b, at)) || b[at] == '#')) {
    if (b[at] == '#') {
      while (at < b.size() && b[at] != '\n' && b[at] != '\r') ++at;
    } else {
      ++at;
    }
  }
  std::uint64_t v = 0;
  std::size_t digits = 0;
  for (; at < b.size() && std::isdigit(at_byte(b, at)); ++at, ++digits) {
    if (digits == 12) return std::nullopt;
    v = v * 10 + (b[at] - '0');
  }
  if (digits == 0) return std::nullopt;
  return v;
}

// PAM (P7): "WIDTH n" and "HEIGHT n" lines before ENDHDR.
std::optional<PictureSize> pam_size(const Bytes& b) {
  std::optional<std::uint64_t> w, h;
  for (std::size_t at = 3; at < b.size();) {
    std::size_t end = at;
    while (end < b.size() && b[end] != '\n') ++end;
    const Bytes line = b.substr(at, end - at);
    const Bytes value = line.substr(std::min(line.find(' '), line.size()));
    std::size_t first = 0;
    if (line.rfind("WIDTH", 0) == 0) w = pnm_token(value, first);
    if (line.rfind("HEIGHT", 0) == 0) h = pnm_token(value, first);
    if (line.rfind("ENDHDR", 0) == 0) break;
    at = end + 1;
  }
  return sized(w, h);
}

std::optional<PictureSize> pnm_size(const Bytes& b) {
  if (b[1] == '7') return pam_size(b);
  std::size_t at = 2;
  const auto w = pnm_token(b, at);
  const auto h = pnm_token(b, at);
  return sized(w, h);
}

// BMP: OS/2's 12-byte core header (16-bit sizes) or a Windows info header (signed 32-bit; a
// negative height is a top-down picture).
std::optional<PictureSize> bmp_size(const Bytes& b) {
  const auto header = number(b, 14, 4, false);
  if (!header) return std::nullopt;
  if (*header == 12) return sized(number(b, 18, 2, false), number(b, 20, 2, false));
  const auto w = number(b, 18, 4, false), h = number(b, 22, 4, false);
  if (!w || !h) return std::nullopt;
  const auto sw = static_cast<std::int32_t>(*w), sh = static_cast<std::int32_t>(*h);
  if (sw <= 0 || sh == 0) return PictureSize{0, 0};
  return PictureSize{static_cast<std::uint64_t>(sw), static_cast<std::uint64_t>(std::abs(std::int64_t{sh}))};
}

// TIFF: the first IFD's ImageWidth (256) and ImageLength (257), SHORT, LONG or (BigTIFF) LONG8.
std::optional<PictureSize> tiff_size(const Bytes& b) {
  const bool big = b[0] == 'M';
  const auto version = number(b, 2, 2, big);
  if (!version || (*version != 42 && *version != 43)) return std::nullopt;
  const bool bigtiff = *version == 43;
  const std::size_t count_size = bigtiff ? 8 : 2, entry = bigtiff ? 20 : 12, value_at = bigtiff ? 12 : 8;
  const auto ifd = bigtiff ? number(b, 8, 8, big) : number(b, 4, 4, big);
  if (!ifd || *ifd >= b.size()) return std::nullopt;
  const auto count = number(b, *ifd, count_size, big);
  if (!count || *count > b.size() / entry) return std::nullopt;
  std::optional<std::uint64_t> w, h;
  for (std::uint64_t i = 0; i < *count; ++i) {
    const std::size_t at = *ifd + count_size + i * entry;
    const auto tag = number(b, at, 2, big), type = number(b, at + 2, 2, big);
    if (!tag || !type) return std::nullopt;
    const std::size_t width = *type == 3 ? 2 : *type == 4 ? 4 : *type == 16 ? 8 : 0;
    if ((*tag != 256 && *tag != 257) || width == 0) continue;
    (*tag == 256 ? w : h) = number(b, at + value_at, width, big);
  }
  return sized(w, h);
}

std::optional<PictureSize> webp_size(const Bytes& b) {
  if (starts_with(b, 12, "VP8 ")) {
    if (!(number(b, 23, 3, true) == 0x9d012aULL)) return std::nullopt;
    const auto w = number(b, 26, 2, false), h = number(b, 28, 2, false);
    if (!w || !h) return std::nullopt;
    return PictureSize{*w & 0x3fff, *h & 0x3fff};
  }
  if (starts_with(b, 12, "VP8L")) {
    const auto bits = number(b, 21, 4, false);
    if (!(number(b, 20, 1, false) == 0x2fULL) || !bits) return std::nullopt;
    return PictureSize{(*bits & 0x3fff) + 1, ((*bits >> 14) & 0x3fff) + 1};
  }
  if (starts_with(b, 12, "VP8X")) {
    const auto w = number(b, 24, 3, false), h = number(b, 27, 3, false);
    if (!w || !h) return std::nullopt;
    return PictureSize{*w + 1, *h + 1};
  }
  return std::nullopt;
}

}  // namespace

std::optional<PictureSize> picture_size(std::string_view b) {
  if (starts_with(b, 0, "\x89PNG\r\n\x1a\n")) return png_size(b);
  if (starts_with(b, 0, "\xFF\xD8\xFF")) return jpeg_size(b);
  if (b.size() >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '7') return pnm_size(b);
  if (starts_with(b, 0, "BM")) return bmp_size(b);
  if (starts_with(b, 0, "II") || starts_with(b, 0, "MM")) return tiff_size(b);
  if (starts_with(b, 0, "RIFF") && starts_with(b, 8, "WEBP")) return webp_size(b);
  return std::nullopt;
}

std::uint64_t padded_pixels(std::uint64_t width, std::uint64_t height, int model_width, int model_height) {
  const double want = double(model_width) / model_height, have = double(width) / double(height);
  double rows = double(height), cols = double(width);
  if (have > want) rows = std::round(double(width) / want);
  if (have < want) cols = std::round(double(height) * want);
  const double pixels = rows * cols;
  return pixels >= 1.8e19 ? std::uint64_t(-1) : static_cast<std::uint64_t>(pixels);
}

}  // namespace fmnist::detail
