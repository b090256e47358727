// Evaluation of the current weights on a whole dataset (validation after each epoch, test at the
// end): by rank 0 alone, or shared across the ranks with --eval-ranks all.
#pragma once

#include <optional>

#include "fmnist/comm.hpp"
#include "fmnist/config.hpp"
#include "fmnist/data.hpp"
#include "fmnist/model.hpp"

namespace fmnist {

// Mean loss and accuracy over a dataset.
struct Figures {
  double loss = 0;
  double accuracy = 0;
};

// The figures of `model` on `d`, exact sums in fixed point; nothing on the ranks that take no part
// (every rank but 0, unless --eval-ranks all). Collective with --eval-ranks all (`at` names the
// place for the stall watchdog); otherwise rank 0 tells the waiting ranks it is alive.
std::optional<Figures> evaluate(Model<float>& model, const Dataset& d, const Config& config, const Comm& comm,
                                const WatchPoint& at);

}  // namespace fmnist
