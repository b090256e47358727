// history.csv: one row per epoch (numbered from 1) with the Keras history keys, the wall time of
// the epoch's training steps and the run's id, in a form spreadsheets and pandas read directly (no
// comment line: pandas.read_csv stops at one unless told comment='#'). lr, seconds and run_id come
// after the four figures, so readers that take columns 1-5 by position read what they always did.
#include <cstdio>

#include "fmnist/report.hpp"

namespace fmnist {

std::string history_csv(const History& h, const std::string& run_id) {
  std::string text = "epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds,run_id\n";
  char row[256];
  for (std::size_t e = 0; e < h.epochs(); ++e) {
    std::snprintf(row, sizeof row, "%zu,%.6f,%.6f,%.6f,%.6f,%.7g,%.3f,", e + 1, h.loss[e], h.accuracy[e],
                  h.val_loss[e], h.val_accuracy[e], h.lr[e], h.seconds[e]);
    text += row + run_id + "\n";
  }
  return text;
}

}  // namespace fmnist
