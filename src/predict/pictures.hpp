// The pictures of a labelled evaluation, shared by --evaluate and --predict: the confusion
// matrix as an SVG heat map, and the most confidently wrong images as a PNG (drawn with OpenCV)
// or SVG (src/report) grid captioned "true → predicted (p)".
#pragma once

#include <string>
#include <vector>

#include "fmnist/predict.hpp"

namespace fmnist::detail {

constexpr std::size_t kErrorTiles = 36;  // 6 rows of 6

// The labelled images whose wrong prediction has the highest probability, most confident
// first (ties: the earlier image first); at most `count`.
std::vector<std::size_t> most_confident_errors(const std::vector<float>& logits, const std::vector<int>& labels,
                                               int classes, std::size_t count);

// The title of the error grid: "The 6 errors of <what>, most confident first: true → predicted
// (probability)" when all are shown, else "The 36 most confident of the 1,411 errors of <what>: ...".
std::string errors_title(std::size_t shown, std::size_t errors, const std::string& what, const char* arrow);

// Writes the pictures asked for; `what` names the model and the images, for the titles.
void draw_pictures(const ImageSet& images, const std::vector<float>& logits, const Scores& scores,
                   const ModelInput& input, const std::vector<std::string>& class_names, const Pictures& pictures,
                   const std::string& what);

}  // namespace fmnist::detail
