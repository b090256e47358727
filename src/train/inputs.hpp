// What a run trains on: the model (the tutorial's or --model's Keras JSON), the training split,
// the validation split and the test set, read from IDX or Kaggle CSVs and split exactly as the
// tutorial does.
#pragma once

#include <cstdint>
#include <string>

#include "fmnist/config.hpp"
#include "fmnist/data.hpp"
#include "fmnist/model_spec.hpp"

namespace fmnist {

struct Inputs {
  Dataset train;       // (42,000 by default) the part of the training set we train on
  Dataset validation;  // (18,000) held out, evaluated after every epoch
  Dataset test;        // (10,000) evaluated at the end; empty when no test data was given
  std::uint64_t train_fingerprint = 0;  // fingerprint(train), computed once
  std::string source;  // for the log: where the data came from
};

// The model of the run: --model's JSON, or the tutorial's without it. Throws Error(Exit::usage)
// for a bad or unreadable JSON and for a model that does not fit the data (28x28x1, 10 classes).
ModelSpec load_model_spec(const Config& config);

// Throws Error(Exit::data) for unreadable data and Error(Exit::usage) when --batch-size
// exceeds the training split.
Inputs load_inputs(const Config& config);

}  // namespace fmnist
