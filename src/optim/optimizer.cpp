// RMSprop, Adam and SGD with momentum over flat float arenas, as Keras computes them.
// Updates are element-wise loops the compiler vectorises; all arithmetic is float32 like Keras.
#include "fmnist/optimizer.hpp"

#include <cmath>

#include "fmnist/error.hpp"

namespace fmnist {

Optimizer::Optimizer(std::string name, std::size_t n, std::vector<std::string> slot_names, double lr) : lr_(0) {
  state_.name = std::move(name);
  set_lr(lr);
  for (auto& s : slot_names) state_.slots.push_back({std::move(s), std::vector<float>(n, 0.0f)});
}

void Optimizer::set_lr(double lr) {
  if (!std::isfinite(lr) || lr < 0)
    throw Error(Exit::internal, "optimizer '" + state_.name + "': learning rate " + std::to_string(lr) +
                                    " is negative or not finite");
  lr_ = lr;
}

void Optimizer::restore(const OptimizerState& s) {
  if (s.name != state_.name)
    throw Error(Exit::checkpoint, "optimizer is '" + s.name + "' in the checkpoint, '" + state_.name +
                                      "' in this run");
  if (s.slots.size() != state_.slots.size())
    throw Error(Exit::checkpoint, "optimizer '" + s.name + "' has " + std::to_string(s.slots.size()) +
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
  RmsProp(const OptimizerConfig& c, std::size_t n) : Optimizer("rmsprop", n, {"velocity"}, c.lr), c_(c) {}
  void step(float* w, const float* g) override {
    float* v = slot(0).data();
    const std::size_t n = slot(0).size();
    const float rho = float(c_.rho), one_minus_rho = 1.0f - rho, lr = float(lr_), eps = float(c_.epsilon);
    if (c_.form == RmspropForm::keras2) {
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
  OptimizerConfig c_;
};

// Keras Adam: m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
// w -= lr * sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v) + eps)
class Adam final : public Optimizer {
 public:
  Adam(const OptimizerConfig& c, std::size_t n) : Optimizer("adam", n, {"momentum", "velocity"}, c.lr), c_(c) {}
  void step(float* w, const float* g) override {
    float* m = slot(0).data();
    float* v = slot(1).data();
    const std::size_t n = slot(0).size();
    const double t = static_cast<double>(++state_.iterations);
    const float b1 = float(c_.beta_1), b2 = float(c_.beta_2), eps = float(c_.epsilon);
    const float alpha = static_cast<float>(float(lr_) * std::sqrt(1.0 - std::pow(b2, t)) / (1.0 - std::pow(b1, t)));
    for (std::size_t i = 0; i < n; ++i) {
      m[i] = b1 * m[i] + (1.0f - b1) * g[i];
      v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
      w[i] -= alpha * m[i] / (std::sqrt(v[i]) + eps);
    }
  }

 private:
  OptimizerConfig c_;
};

// Keras SGD with momentum: m = momentum*m - lr*g; w += m.
class Sgd final : public Optimizer {
 public:
  Sgd(const OptimizerConfig& c, std::size_t n) : Optimizer("sgd", n, {"momentum"}, c.lr), c_(c) {}
  void step(float* w, const float* g) override {
    float* m = slot(0).data();
    const std::size_t n = slot(0).size();
    const float momentum = float(c_.momentum), lr = float(lr_);
    for (std::size_t i = 0; i < n; ++i) {
      m[i] = momentum * m[i] - lr * g[i];
      w[i] += m[i];
    }
    ++state_.iterations;
  }

 private:
  OptimizerConfig c_;
};

}  // namespace

const char* rmsprop_form_name(RmspropForm form) { return EnumNames<RmspropForm>::names[static_cast<std::size_t>(form)]; }

KerasOptimizerConfig keras_optimizer_config(const OptimizerConfig& c) {
  if (c.name == "adam")
    return {"Adam", {{"learning_rate", c.lr}, {"beta_1", c.beta_1}, {"beta_2", c.beta_2}, {"epsilon", c.epsilon}},
            {{"amsgrad", false}}};
  if (c.name == "sgd") return {"SGD", {{"learning_rate", c.lr}, {"momentum", c.momentum}}, {{"nesterov", false}}};
  return {"RMSprop", {{"learning_rate", c.lr}, {"rho", c.rho}, {"momentum", 0.0}, {"epsilon", c.epsilon}},
          {{"centered", false}}};
}

std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& config, std::size_t n) {
  if (config.name == "rmsprop") return std::make_unique<RmsProp>(config, n);
  if (config.name == "adam") return std::make_unique<Adam>(config, n);
  if (config.name == "sgd") return std::make_unique<Sgd>(config, n);
  throw Error(Exit::usage, "--optimizer: unknown optimizer '" + config.name + "' (rmsprop, adam or sgd)");
}

}  // namespace fmnist
