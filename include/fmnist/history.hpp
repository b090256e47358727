// The per-epoch training history, as Keras's History.history holds it (with its `lr` key, which
// Keras adds when a callback changes the rate), plus epoch seconds.
#pragma once

#include <cstddef>
#include <limits>
#include <vector>

namespace fmnist {

struct History {
  std::vector<double> loss, accuracy, val_loss, val_accuracy;
  std::vector<double> lr;       // the learning rate of the epoch's last step, as the optimizer applied it
  std::vector<double> seconds;  // wall time of the epoch's training steps, evaluation excluded

  std::size_t epochs() const { return loss.size(); }
  void add(double l, double acc, double vl, double vacc, double secs,
           double rate = std::numeric_limits<double>::quiet_NaN()) {
    loss.push_back(l);
    accuracy.push_back(acc);
    val_loss.push_back(vl);
    val_accuracy.push_back(vacc);
    lr.push_back(rate);
    seconds.push_back(secs);
  }
};

}  // namespace fmnist
