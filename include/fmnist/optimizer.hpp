// Optimizers over the flat parameter arena, in Keras's float32 arithmetic:
// RMSprop (Keras 3: w -= lr * g / sqrt(v + eps)), Adam and SGD with momentum.
// Each takes the MEAN gradient of the global batch; its state is a list of named slots
// shaped like the arena, which the checkpoint stores and restores.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fmnist/checkpoint.hpp"

namespace fmnist {

struct OptimizerConfig {
  std::string name = "rmsprop";  // rmsprop | adam | sgd
  float lr = 0.001f;
  float rho = 0.9f;              // RMSprop
  float beta_1 = 0.9f;           // Adam
  float beta_2 = 0.999f;         // Adam
  float momentum = 0.9f;         // SGD
  float epsilon = 1e-7f;         // RMSprop, Adam
  bool epsilon_outside_sqrt = false;  // RMSprop as Keras 2.3-2.10: lr * g / (sqrt(v) + eps)
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // w (n) -= update from g (n), the mean gradient over the global batch.
  virtual void step(float* w, const float* g) = 0;

  const OptimizerState& state() const { return state_; }
  // Restores slots and step count from a checkpoint; throws Error(Exit::checkpoint) on mismatch.
  void restore(const OptimizerState& s);

 protected:
  Optimizer(std::string name, std::size_t n, std::vector<std::string> slot_names);
  std::vector<float>& slot(std::size_t i) { return state_.slots[i].data; }
  OptimizerState state_;
};

std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& config, std::size_t n);

}  // namespace fmnist
