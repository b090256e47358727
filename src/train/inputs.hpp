// The data a run trains on: the training split, the validation split and the test set,
// read from IDX or Kaggle CSVs and split exactly as the tutorial does.
#pragma once

#include <cstdint>
#include <string>

#include "fmnist/config.hpp"
#include "fmnist/data.hpp"

namespace fmnist {

struct Inputs {
  Dataset train;       // (42,000 by default) the part of the training set we train on
  Dataset validation;  // (18,000) held out, evaluated after every epoch
  Dataset test;        // (10,000) evaluated at the end; empty when no test data was given
  std::uint64_t train_fingerprint = 0;  // fingerprint(train), computed once
  std::string source;  // for the log: where the data came from
};

// Throws Error(Exit::data) for unreadable data and Error(Exit::usage) when --batch-size
// exceeds the training split.
Inputs load_inputs(const Config& config);

}  // namespace fmnist
