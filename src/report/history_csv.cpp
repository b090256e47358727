// history.csv: one row per epoch (numbered from 1) with the Keras history keys and the wall
// time of the epoch's training steps, in a form spreadsheets and pandas read directly: the columns
// and their formats are the history's table (kHistoryColumns, history.hpp).
#include <cstdio>

#include "fmnist/report.hpp"

namespace fmnist {

std::string history_csv(const History& h) {
  std::string text = "epoch";
  for (const HistoryColumn& column : kHistoryColumns) text += std::string(",") + column.key;
  text += "\n";
  char cell[400];  // any double in %.6f
  for (std::size_t e = 0; e < h.epochs(); ++e) {
    text += std::to_string(e + 1);
    for (const HistoryColumn& column : kHistoryColumns) {
      std::snprintf(cell, sizeof cell, column.csv_format, (h.*column.values)[e]);
      text += std::string(",") + cell;
    }
    text += "\n";
  }
  return text;
}

}  // namespace fmnist
