// Optimizers over the flat parameter arena, in Keras's float32 arithmetic: RMSprop in the
// Keras 2 form (w -= lr * g / (sqrt(v) + eps), the tutorial's) or the Keras 3 form
// (w -= lr * g / sqrt(v + eps)), Adam, SGD with momentum and AdamW (Adam with weight decay), each
// after Keras 3's decoupled weight decay of the trainable weights when --weight-decay is not 0.
// Each takes the MEAN gradient of the global batch; its state is a list of named slots
// shaped like the arena, which the checkpoint stores and restores.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fmnist/checkpoint.hpp"
#include "fmnist/model_spec.hpp"
#include "fmnist/settings.hpp"

namespace fmnist {

// Keras's fixed hyper-parameters of the optimizers (not options: the rate, SGD's momentum, the kind
// and RMSprop's form are settings, include/fmnist/settings.hpp). The arithmetic is float32: each is
// rounded once.
struct OptimizerConstants {
  double rho = 0.9;       // RMSprop
  double beta_1 = 0.9;    // Adam
  double beta_2 = 0.999;  // Adam
  double epsilon = 1e-7;  // RMSprop, Adam
};

// The optimizer of `settings` as Keras serializes it (class and config), for the checkpoint's training_config;
// "weight_decay" among the values when it is not 0 (always for AdamW).
KerasOptimizerConfig keras_optimizer_config(const Settings& settings, const OptimizerConstants& constants = {});

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // w (n) -= update from g (n), the mean gradient over the global batch: first the weight decay,
  // w -= w * weight_decay * lr on the trainable ranges (keras/src/optimizers/base_optimizer.py
  // _apply_weight_decay, before the update; lr the rate of this step), then the optimizer's rule.
  void step(float* w, const float* g);

  // The learning rate of the next steps (a schedule or ReduceLROnPlateau changes it between steps);
  // each step rounds it to float32 once, so the same double gives the same bytes on every rank.
  // Throws Error(Exit::internal) for a negative or non-finite rate.
  void set_lr(double lr);

  const OptimizerState& state() const { return state_; }
  // Restores slots and step count from a checkpoint; throws Error(Exit::checkpoint) on mismatch.
  void restore(const OptimizerState& s);

 protected:
  Optimizer(OptimizerKind kind, std::size_t n, std::vector<std::string> slot_names, double lr);
  // The optimizer's own rule, after the weight decay.
  virtual void update(float* w, const float* g) = 0;
  std::vector<float>& slot(std::size_t i) { return state_.slots[i].data; }
  OptimizerState state_;
  double lr_;  // --lr until set_lr

 private:
  friend std::unique_ptr<Optimizer> make_optimizer(const Settings&, std::size_t, const OptimizerConstants&,
                                                   std::vector<ParamRange>);
  double weight_decay_ = 0;
  std::vector<ParamRange> decayed_;  // the ranges the weight decay applies to
};

// The optimizer --optimizer names, with --lr, --momentum, --rmsprop-form and --weight-decay, over n
// parameters; the weight decay applies to `trainable` (empty: all n, for a model without moving statistics).
std::unique_ptr<Optimizer> make_optimizer(const Settings& settings, std::size_t n,
                                          const OptimizerConstants& constants = {},
                                          std::vector<ParamRange> trainable = {});

}  // namespace fmnist
