// What every SVG of the report module shares: number formatting into attributes, escaping of
// text that comes from outside (class names, file names) and the document's opening.
#pragma once

#include <cstdio>
#include <string>

namespace fmnist::detail {

inline std::string format(const char* pattern, double a, double b = 0, double c = 0, double d = 0) {
  char text[512];
  std::snprintf(text, sizeof text, pattern, a, b, c, d);
  return text;
}

// Text for an SVG element or attribute: &, <, >, " and ' escaped.
inline std::string xml_escape(const std::string& text) {
  std::string out;
  for (char ch : text) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += ch;
    }
  }
  return out;
}

// A standalone SVG 1.1 document of width x height pixels on white; close it with "</svg>\n".
inline std::string svg_open(double width, double height) {
  return format(
             "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" version=\"1.1\" "
             "width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" ",
             width, height, width, height) +
         "font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" "
         "fill=\"#fff\"/>\n";
}

}  // namespace fmnist::detail
