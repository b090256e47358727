// A grid of small pictures with a caption under each (the most confident errors of an
// evaluation), as SVG: each picture is embedded as a base64 PNG data URI at its own pixel size,
// so the figure is one self-contained file that browsers and rsvg-convert show alike.
#include <algorithm>

#include "fmnist/report.hpp"
#include "svg.hpp"

namespace fmnist {
namespace {

using detail::format;
using detail::xml_escape;

constexpr double kMargin = 20, kTitle = 44, kCaption = 30;  // around and under the pictures
constexpr double kMinTileWidth = 210;                      // room for "T-shirt/top → Ankle boot (1.000)"

std::string base64(const std::string& bytes) {
  static const char* digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
    std::uint32_t v = 0;
    for (std::size_t j = 0; j < 3; ++j) v = v << 8 | (j < n ? static_cast<unsigned char>(bytes[i + j]) : 0u);
    for (std::size_t j = 0; j < 4; ++j) out += j <= n ? digits[(v >> (18 - 6 * j)) & 63] : '=';
  }
  return out;
}

}  // namespace

std::string picture_grid_svg(const std::vector<PictureTile>& tiles, const std::string& title, int columns) {
  int largest_width = 1, largest_height = 1;
  for (const PictureTile& t : tiles) {
    largest_width = std::max(largest_width, t.width);
    largest_height = std::max(largest_height, t.height);
  }
  const double tile_width = std::max(kMinTileWidth, double(largest_width) + 20);
  const double tile_height = double(largest_height) + kCaption + 12;
  const std::size_t rows = std::max<std::size_t>(1, (tiles.size() + std::size_t(columns) - 1) / std::size_t(columns));
  const double width = 2 * kMargin + tile_width * columns, height = kMargin + kTitle + tile_height * double(rows);
  std::string out = detail::svg_open(width, height);
  out += format("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"16\">", width / 2, kMargin + 14) +
         xml_escape(title) + "</text>\n";
  for (std::size_t i = 0; i < tiles.size(); ++i) {
    const PictureTile& t = tiles[i];
    const double x = kMargin + tile_width * double(i % std::size_t(columns));
    const double y = kMargin + kTitle + tile_height * double(i / std::size_t(columns));
    const double w = t.width, h = t.height, left = x + (tile_width - w) / 2;
    out += "<g class=\"tile\"><title>" + xml_escape(t.tooltip) + "</title>\n";
    out += format("<image x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" ", left, y, w, h) +
           "xlink:href=\"data:image/png;base64," +
           base64(t.png) + "\"/>\n";
    out += format("<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#999\"/>\n", left, y,
                  w, h);
    out += format("<text class=\"caption\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"11.5\">",
                  x + tile_width / 2, y + h + 18) +
           xml_escape(t.caption) + "</text>\n</g>\n";
  }
  if (tiles.empty()) {
    out += format("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">(nothing to show)</text>\n", width / 2,
                  kMargin + kTitle + 20);
  }
  return out + "</svg>\n";
}

}  // namespace fmnist
