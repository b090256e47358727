// The recorded settings of a TrainingState as (name, text) pairs, in file order, with the settings
// table's one text mapping: what fmnist_inspect reports; and which epoch best.h5 holds.
#include "fmnist/checkpoint.hpp"

namespace fmnist {

std::vector<std::pair<std::string, std::string>> training_settings_text(const TrainingState& t) {
  std::vector<std::pair<std::string, std::string>> pairs;
  visit_training_fields(t, [&](const SettingInfo& info, const auto& value) {
    if (info.group != Group::state) pairs.emplace_back(info.key, to_text(value));
  });
  return pairs;
}

BestMark best_h5_mark(const TrainingState& t, const History& h) {
  if (early_stopping_on(t) && t.early_stopping_best_epoch > 0)
    return {static_cast<std::size_t>(t.early_stopping_best_epoch), "EarlyStopping's best " + to_text(t.monitor)};
  return {best_epoch(h), "lowest val_loss"};
}

}  // namespace fmnist
