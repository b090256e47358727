// Human-readable outputs of a run: history.csv and the tutorial's learning-curve figure
// (accuracy and loss against epochs, training as dots, validation as a line) as SVG.
#pragma once

#include <string>

#include "fmnist/history.hpp"

namespace fmnist {

// "epoch,loss,accuracy,val_loss,val_accuracy,seconds" and one row per epoch (epochs from 1).
std::string history_csv(const History& h);
// A standalone SVG document with two panels (accuracy, loss), axes, ticks, labels and legend.
std::string learning_curve_svg(const History& h);

}  // namespace fmnist
