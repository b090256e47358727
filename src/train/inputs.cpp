// Reads the model and the data named by the options and applies train_test_split(test_size, random_state).
#include "inputs.hpp"

#include <numeric>

#include "fmnist/error.hpp"
#include "fmnist/text.hpp"

namespace fmnist {

ModelSpec load_model_spec(const Config& config) {
  ModelSpec spec = config.model.empty() ? tutorial_model_spec() : read_keras_json(config.model);
  require_data_shape(plan_model(spec), {kImageRows, kImageCols, 1}, kNumClasses);
  return spec;
}

Inputs load_inputs(const Config& config) {
  Dataset full_train;
  Inputs in;
  if (!config.train_csv.empty()) {
    full_train = read_csv(config.train_csv);
    if (!config.test_csv.empty()) in.test = read_csv(config.test_csv);
    in.source = config.train_csv + (config.test_csv.empty() ? "" : " and " + config.test_csv);
  } else {
    TrainTest tt = read_idx_dir(config.data_dir);
    full_train = std::move(tt.train);
    in.test = std::move(tt.test);
    in.source = config.data_dir;
  }
  const auto n = static_cast<std::uint32_t>(full_train.size());
  const Split split = train_test_split(n, config.val_split, config.split_seed);
  if (split.train.empty() || split.validation.empty())
    usage_error("val-split", number_text(config.val_split) + " of " + std::to_string(n) +
                                 " samples leaves an empty training or validation split");
  in.train = subset(full_train, split.train);
  in.train_fingerprint = fingerprint(in.train);
  in.validation = subset(full_train, split.validation);
  if (static_cast<std::size_t>(config.batch_size) > in.train.size())
    usage_error("batch-size", std::to_string(config.batch_size) + " is larger than the training split (" +
                                  std::to_string(in.train.size()) + " samples)");
  return in;
}

}  // namespace fmnist
