// RMSprop, Adam, AdamW and SGD with momentum over flat float arenas, as Keras computes them, each
// after Keras 3's decoupled weight decay. Updates are element-wise loops the compiler vectorises;
// all arithmetic is float32 like Keras.
#include "fmnist/optimizer.hpp"

#include <cmath>

#include "fmnist/error.hpp"
#include "fmnist/text.hpp"

namespace fmnist {

Optimizer::Optimizer(OptimizerKind kind, std::size_t n, std::vector<std::string> slot_names, double lr) : lr_(0) {
  state_.kind = kind;
  set_lr(lr);
  for (auto& s : slot_names) state_.slots.push_back({std::move(s), std::vector<float>(n, 0.0f)});
}

void Optimizer::set_lr(double lr) {
  if (!std::isfinite(lr) || lr < 0)
    throw Error(Exit::internal, "optimizer '" + to_text(state_.kind) + "': learning rate " + number_text(lr) +
                                    " is negative or not finite");
  lr_ = lr;
}

void Optimizer::step(float* w, const float* g) {
  if (weight_decay_ != 0) {
    // Keras casts both to the variable's dtype: variable - variable * wd * lr, in float32.
    const float wd = float(weight_decay_), lr = float(lr_);
    for (const ParamRange& r : decayed_) {
      for (std::size_t i = r.begin; i < r.end; ++i) w[i] = w[i] - w[i] * wd * lr;
    }
  }
  update(w, g);
}

void Optimizer::restore(const OptimizerState& s) {
  if (s.kind != state_.kind)
    throw Error(Exit::checkpoint, "optimizer is '" + to_text(s.kind) + "' in the checkpoint, '" +
                                      to_text(state_.kind) + "' in this run");
  if (s.slots.size() != state_.slots.size())
    throw Error(Exit::checkpoint, "optimizer '" + to_text(s.kind) + "' has " + std::to_string(s.slots.size()) +
                                      " slots in the checkpoint, expected " +
                                      std::to_string(state_.slots.size()));
  for (std::size_t i = 0; i < s.slots.size(); ++i) {
    const auto& want = state_.slots[i];
    if (s.slots[i].name != want.name || s.slots[i].data.size() != want.data.size())
      throw Error(Exit::checkpoint, "optimizer slot '" + s.slots[i].name + "' (" +
                                        std::to_string(s.slots[i].data.size()) + " values) does not match '" +
                                        want.name + "' (" + std::to_string(want.data.size()) + ")");
  }
  state_ = s;
}

namespace {

// v = rho*v + (1-rho)*g^2; w -= lr*g / (sqrt(v) + eps)   (Keras 2; Keras 3: / sqrt(v + eps))
class RmsProp final : public Optimizer {
 public:
  RmsProp(const Settings& s, const OptimizerConstants& k, std::size_t n)
      : Optimizer(OptimizerKind::rmsprop, n, {"velocity"}, s.lr), form_(s.rmsprop_form), k_(k) {}
  void update(float* w, const float* g) override {
    float* v = slot(0).data();
    const std::size_t n = slot(0).size();
    const float rho = float(k_.rho), one_minus_rho = 1.0f - rho, lr = float(lr_), eps = float(k_.epsilon);
    if (form_ == RmspropForm::keras2) {
      for (std::size_t i = 0; i < n; ++i) {
        v[i] = rho * v[i] + one_minus_rho * g[i] * g[i];
        w[i] -= lr * g[i] / (std::sqrt(v[i]) + eps);
      }
    } else {
      for (std::size_t i = 0; i < n; ++i) {
        v[i] = rho * v[i] + one_minus_rho * g[i] * g[i];
        w[i] -= lr * g[i] / std::sqrt(v[i] + eps);
      }
    }
    ++state_.iterations;
  }

 private:
  RmspropForm form_;
  OptimizerConstants k_;
};

// Keras Adam: m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
// w -= lr * sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v) + eps). AdamW is the same rule (its weight decay
// is the base class's, keras/src/optimizers/adamw.py).
class Adam final : public Optimizer {
 public:
  Adam(const Settings& s, const OptimizerConstants& k, std::size_t n)
      : Optimizer(s.optimizer, n, {"momentum", "velocity"}, s.lr), k_(k) {}
  void update(float* w, const float* g) override {
    float* m = slot(0).data();
    float* v = slot(1).data();
    const std::size_t n = slot(0).size();
    const double t = static_cast<double>(++state_.iterations);
    const float b1 = float(k_.beta_1), b2 = float(k_.beta_2), eps = float(k_.epsilon);
    const float alpha = static_cast<float>(float(lr_) * std::sqrt(1.0 - std::pow(b2, t)) / (1.0 - std::pow(b1, t)));
    for (std::size_t i = 0; i < n; ++i) {
      m[i] = b1 * m[i] + (1.0f - b1) * g[i];
      v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
      w[i] -= alpha * m[i] / (std::sqrt(v[i]) + eps);
    }
  }

 private:
  OptimizerConstants k_;
};

// Keras SGD with momentum: m = momentum*m - lr*g; w += m.
class Sgd final : public Optimizer {
 public:
  Sgd(const Settings& s, std::size_t n) : Optimizer(OptimizerKind::sgd, n, {"momentum"}, s.lr), momentum_(s.momentum) {}
  void update(float* w, const float* g) override {
    float* m = slot(0).data();
    const std::size_t n = slot(0).size();
    const float momentum = float(momentum_), lr = float(lr_);
    for (std::size_t i = 0; i < n; ++i) {
      m[i] = momentum * m[i] - lr * g[i];
      w[i] += m[i];
    }
    ++state_.iterations;
  }

 private:
  double momentum_;
};

KerasOptimizerConfig keras_config_without_decay(const Settings& s, const OptimizerConstants& k) {
  switch (s.optimizer) {
    case OptimizerKind::adam:
    case OptimizerKind::adamw:
      return {s.optimizer == OptimizerKind::adam ? "Adam" : "AdamW",
              {{"learning_rate", s.lr}, {"beta_1", k.beta_1}, {"beta_2", k.beta_2}, {"epsilon", k.epsilon}},
              {{"amsgrad", false}}};
    case OptimizerKind::sgd:
      return {"SGD", {{"learning_rate", s.lr}, {"momentum", s.momentum}}, {{"nesterov", false}}};
    case OptimizerKind::rmsprop: break;
  }
  return {"RMSprop", {{"learning_rate", s.lr}, {"rho", k.rho}, {"momentum", 0.0}, {"epsilon", k.epsilon}},
          {{"centered", false}}};
}

}  // namespace

KerasOptimizerConfig keras_optimizer_config(const Settings& s, const OptimizerConstants& k) {
  KerasOptimizerConfig config = keras_config_without_decay(s, k);
  if (s.weight_decay != 0 || s.optimizer == OptimizerKind::adamw)
    config.values.emplace_back("weight_decay", s.weight_decay);
  return config;
}

std::unique_ptr<Optimizer> make_optimizer(const Settings& settings, std::size_t n, const OptimizerConstants& constants,
                                          std::vector<ParamRange> trainable) {
  std::unique_ptr<Optimizer> optimizer;
  switch (settings.optimizer) {
    case OptimizerKind::adam:
    case OptimizerKind::adamw: optimizer = std::make_unique<Adam>(settings, constants, n); break;
    case OptimizerKind::sgd: optimizer = std::make_unique<Sgd>(settings, n); break;
    case OptimizerKind::rmsprop: optimizer = std::make_unique<RmsProp>(settings, constants, n); break;
  }
  optimizer->weight_decay_ = settings.weight_decay;
  optimizer->decayed_ = trainable.empty() ? std::vector<ParamRange>{{0, n}} : std::move(trainable);
  return optimizer;
}

}  // namespace fmnist
