// history.csv: one row per epoch (numbered from 1) with the Keras history keys, the wall time of
// the epoch's training steps and the run's id, in a form spreadsheets and pandas read directly (no
// comment line: pandas.read_csv stops at one unless told comment='#'). The numeric columns and their
// formats are the history's table (kHistoryColumns, history.hpp); run_id comes last, so readers that
// take columns 1-5 by position read what they always did.
#include <cstdio>

#include "fmnist/report.hpp"

namespace fmnist {

std::string history_csv(const History& h, const std::string& run_id) {
  std::string text = "epoch";
  for (const HistoryColumn& column : kHistoryColumns) text += std::string(",") + column.key;
  text += ",run_id\n";
  char cell[400];  // any double in %.6f
  for (std::size_t e = 0; e < h.epochs(); ++e) {
    text += std::to_string(e + 1);
    for (const HistoryColumn& column : kHistoryColumns) {
      std::snprintf(cell, sizeof cell, column.csv_format, (h.*column.values)[e]);
      text += std::string(",") + cell;
    }
    text += "," + run_id + "\n";
  }
  return text;
}

}  // namespace fmnist
