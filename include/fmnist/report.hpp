// Human-readable outputs of a run: history.csv and the tutorial's learning-curve figure
// (accuracy and loss against epochs, training as dots, validation as a line) as SVG; and the
// pictures of an evaluation: the confusion matrix as a heat map and a captioned picture grid.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fmnist/history.hpp"

namespace fmnist {

// "epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds,run_id" and one row per epoch (epochs from
// 1), each ending with the run's id (empty for checkpoints written before run ids).
std::string history_csv(const History& h, const std::string& run_id);
// The epoch (from 1) with the lowest val_loss, the first on ties: the one best.h5 holds (the
// trainer replaces best.h5 when val_loss < the best so far). 0 without history.
std::size_t best_epoch(const History& h);
// The epoch best.h5 holds and what made it best, for the figure's dashed line and legend.
struct BestMark {
  std::size_t epoch = 0;     // from 1; 0: none
  std::string what;          // "lowest val_loss", "EarlyStopping's best val_accuracy"
};
// A standalone SVG document with two panels (accuracy, loss), axes whose ticks span all the
// data, labels, a legend, and a dashed line at the epoch best.h5 holds (`best`; none for epoch 0);
// a third panel with the learning rate per epoch when it changed during the run.
std::string learning_curve_svg(const History& h, const BestMark& best);

// The confusion matrix as a heat map: counts (k, k) [true][predicted] in the cells, each cell
// coloured by its share of the true class's images, class names on both axes, a colour scale.
std::string confusion_svg(const std::vector<std::string>& class_names, const std::vector<std::int64_t>& counts,
                          const std::string& title);

// One picture of a grid, with one caption line under it.
struct PictureTile {
  std::string png;      // the picture as PNG bytes
  int width, height;    // its size in pixels
  std::string caption;  // e.g. "Shirt → T-shirt/top (0.998)"
  std::string tooltip;  // shown on hover, e.g. where the picture came from
};
// The tiles in rows of `columns` under a title, each picture at its own size in pixels.
std::string picture_grid_svg(const std::vector<PictureTile>& tiles, const std::string& title, int columns);

}  // namespace fmnist
