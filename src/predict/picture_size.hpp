// Private to the predict module: a picture's size read from its file header, before any decoding,
// for the formats --predict reads (PNG, JPEG, PNM/PAM, BMP, TIFF, WebP), so that a picture whose
// decoding or padding would need too much memory is refused first (docs/predicting.md: Limits).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace fmnist::detail {

struct PictureSize {
  std::uint64_t width = 0, height = 0;
};

// The width and height the header declares, or nothing when the bytes are none of those formats or
// their header is cut short. The decoder may still find the rest of the file corrupt.
std::optional<PictureSize> picture_size(std::string_view bytes);

// Pixels of a width x height picture once padded to the aspect of a model_width x model_height
// input, as the picture is before it is resized (src/predict/picture.cpp: pad_to_aspect).
std::uint64_t padded_pixels(std::uint64_t width, std::uint64_t height, int model_width, int model_height);

}  // namespace fmnist::detail
