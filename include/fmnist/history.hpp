// The per-epoch training history, as Keras's History.history holds it (with its `lr` key, which
// Keras adds when a callback changes the rate), plus epoch seconds; and the one table of its columns
// (kHistoryColumns) that history.csv, the checkpoint's /history, fmnist_inspect's table and --json and
// the callbacks' monitors iterate, so a column is added in one place.
#pragma once

#include <array>
#include <cstddef>
#include <limits>
#include <vector>

namespace fmnist {

// One epoch's figures: a row of the history (NaN: not known on this rank).
struct EpochRow {
  static constexpr double kNone = std::numeric_limits<double>::quiet_NaN();
  double loss = kNone, accuracy = kNone, val_loss = kNone, val_accuracy = kNone;
  double lr = kNone;       // the learning rate of the epoch's last step, as the optimizer applied it
  double seconds = kNone;  // wall time of the epoch's training steps, evaluation excluded
};

// One vector per column of kHistoryColumns, one value per epoch.
struct History {
  std::vector<double> loss, accuracy, val_loss, val_accuracy, lr, seconds;

  std::size_t epochs() const { return loss.size(); }
  void add(const EpochRow& row);
};

struct HistoryColumn {
  const char* key;                       // Keras's History key: the /history dataset, history.csv and --json name
  std::vector<double> History::*values;  // the column
  double EpochRow::*figure;              // its figure in a row
  const char* csv_format;                // history.csv's printf format
  int table_width;                       // fmnist_inspect's table: the heading's width and
  const char* table_format;              // the value's printf format, as wide
};

// In file order: history.csv reads "epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds" (lr after the
// four figures, so readers that take columns 1-5 by position read what they always did). The first four
// are Monitor's choices, in its order (src/train/callbacks.cpp checks).
inline constexpr std::array kHistoryColumns{
    HistoryColumn{"loss", &History::loss, &EpochRow::loss, "%.6f", 6, "%6.4f"},
    HistoryColumn{"accuracy", &History::accuracy, &EpochRow::accuracy, "%.6f", 8, "%8.4f"},
    HistoryColumn{"val_loss", &History::val_loss, &EpochRow::val_loss, "%.6f", 8, "%8.4f"},
    HistoryColumn{"val_accuracy", &History::val_accuracy, &EpochRow::val_accuracy, "%.6f", 12, "%12.4f"},
    HistoryColumn{"lr", &History::lr, &EpochRow::lr, "%.7g", 9, "%9.3g"},
    HistoryColumn{"seconds", &History::seconds, &EpochRow::seconds, "%.3f", 7, "%7.2f"},
};
// Each vector and figure once, and no other members: the table covers History and EpochRow.
constexpr bool columns_are_distinct() {
  for (std::size_t i = 0; i < kHistoryColumns.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (kHistoryColumns[i].values == kHistoryColumns[j].values || kHistoryColumns[i].figure == kHistoryColumns[j].figure)
        return false;
  return true;
}
static_assert(columns_are_distinct(), "a History vector or EpochRow figure in two columns");
static_assert(sizeof(History) == kHistoryColumns.size() * sizeof(std::vector<double>),
              "every History vector is a column of kHistoryColumns");
static_assert(sizeof(EpochRow) == kHistoryColumns.size() * sizeof(double),
              "every EpochRow figure is a column of kHistoryColumns");

inline void History::add(const EpochRow& row) {
  for (const HistoryColumn& column : kHistoryColumns) (this->*column.values).push_back(row.*column.figure);
}

}  // namespace fmnist
