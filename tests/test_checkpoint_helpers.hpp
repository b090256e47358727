// Helpers shared by the checkpoint tests (test_checkpoint*.cpp): a self-removing temporary
// folder, a checkpoint whose every field holds a distinct value, byte-level file access, and
// a check that a call throws fmnist::Error with Exit::checkpoint, returning the message.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "fmnist/checkpoint.hpp"
#include "expect_error.hpp"
#include "temp_dir.hpp"
#include "fmnist/error.hpp"
#include "fmnist/model_spec.hpp"

namespace fmnist::test {

// Exactly representable values, so Python can recompute them: w[i] = (i % 1000 - 500) / 1024.
inline float weight_value(std::size_t i) { return static_cast<float>(static_cast<int>(i % 1000) - 500) / 1024.0f; }

inline std::size_t num_params(const Checkpoint& c) { return plan_model(c.model).num_params; }

// A checkpoint of `model` (the tutorial's by default) with `epochs` epochs of history and
// distinct values in every field, its counters consistent as a real run's (84 steps per epoch of
// 42,000 samples in batches of 500; 7 steps into the next epoch; one optimizer iteration per step).
inline Checkpoint sample_checkpoint(int epochs, bool evaluated, const ModelSpec& model = tutorial_model_spec()) {
  Checkpoint c;
  c.model = model;
  c.training_config = R"({"loss": "categorical_crossentropy", "optimizer_config": {"class_name": "RMSprop"}})";
  const std::size_t n = num_params(c);
  c.weights.resize(n);
  for (std::size_t i = 0; i < n; ++i) c.weights[i] = weight_value(i);
  c.optimizer.kind = OptimizerKind::rmsprop;
  c.optimizer.iterations = 84 * epochs + 7;
  OptimizerSlot velocity{"velocity", std::vector<float>(n)};
  for (std::size_t i = 0; i < n; ++i) velocity.data[i] = 1e-8f * static_cast<float>(i % 977);
  c.optimizer.slots.push_back(velocity);
  TrainingState& t = c.training;
  t.epoch = epochs;
  t.step = 84 * epochs + 7;
  t.step_in_epoch = 7;
  t.world_size = 3;
  t.batch_size = 500;
  t.epochs = 20;
  t.seed = 0xFEDCBA9876543210ull;  // needs all 64 bits
  t.split_seed = 4000000000u;      // needs all 32 bits
  t.val_split = 0.25;
  t.optimizer = OptimizerKind::rmsprop;
  t.lr = 0.00125;
  t.momentum = 0.5;  // not the default, so a reader that ignores it is caught
  t.rmsprop_form = RmspropForm::keras3;  // not the default, so a reader that ignores it is caught
  t.num_train = 42000;
  t.data_fingerprint = 0x8000000000000001ull;
  t.epoch_loss_sum = 1234.5678;
  t.epoch_correct = 3001;
  t.epoch_samples = 3500;
  t.epoch_seconds = 2.75;
  t.best_val_loss = 0.3125;
  t.run_id = "5eed0123";
  for (int e = 0; e < epochs; ++e) {
    c.history.add({.loss = 0.9 - 0.1 * e, .accuracy = 0.6 + 0.05 * e, .val_loss = 0.8 - 0.07 * e,
                   .val_accuracy = 0.65 + 0.04 * e, .seconds = 5.5 + e});
  }
  if (evaluated) c.evaluation = Evaluation{0.3689, 0.8589};
  return c;
}

inline std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_bytes(const std::string& path, const std::vector<char>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline void flip_byte(const std::string& path, std::uint64_t offset) {
  auto bytes = read_bytes(path);
  ASSERT_LT(offset, bytes.size());
  bytes[offset] = static_cast<char>(bytes[offset] ^ 0x5A);
  write_bytes(path, bytes);
}

}  // namespace fmnist::test
