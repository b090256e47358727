// One layer's Keras JSON config, field by field (docs/models.md: Models), for the layer kinds'
// rows (src/nn/kinds/): KerasFields reads typed fields with Keras's defaults and remembers which
// were read, so that any other field that is not null or false is refused; every refusal names
// the layer, the field and the value. And the few values every writer writes alike.
#pragma once

#include <array>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "fmnist/model_spec.hpp"

namespace fmnist {

// A JSON value as messages quote it: lists spaced as Python prints them ([2, 2]), cut at 80 characters.
std::string value_text(const nlohmann::json& value);

class KerasFields {
 public:
  using json = nlohmann::json;

  // where: "<source>: layer 3 'conv2d_1' (Conv2D)", the start of every refusal.
  KerasFields(const json& config, std::string where) : config_(config), where_(std::move(where)) {}

  [[noreturn]] void fail(const std::string& field, const std::string& value, const std::string& what) const;

  // The field's value, or nothing when it is absent or null.
  const json* find(const std::string& key);
  // The field's value; refused when absent or null.
  const json& require(const std::string& key);

  // An integer in [lo, hi]: v, read as field `key`, or the required field `key`.
  int integer_of(const std::string& key, const json& v, int lo, int hi) const;
  int integer(const std::string& key, int lo, int hi) { return integer_of(key, require(key), lo, hi); }
  // An integer n (meaning (n, n)) or a list of two integers; `fallback` when absent (null: required).
  std::array<int, 2> pair(const std::string& key, int lo, int hi, const std::array<int, 2>* fallback);
  // A number in [lo, hi]; `fallback` when absent.
  double number(const std::string& key, double fallback, double lo, double hi);
  // A finite number; `fallback` when absent.
  double number(const std::string& key, double fallback);
  bool boolean(const std::string& key, bool fallback);
  std::string text(const std::string& key, const std::string& fallback);
  // The field must be absent or equal one of `allowed` (Keras's default first).
  void only(const std::string& key, const std::vector<json>& allowed, const std::string& note);

  // One of `options` by Keras's name; `fallback` when absent.
  template <KerasNamed Enum>
  Enum choice(const std::string& key, const std::vector<Enum>& options, Enum fallback) {
    const json* v = find(key);
    if (v == nullptr) return fallback;
    std::string names;
    for (Enum e : options) {
      if (v->is_string() && v->get<std::string>() == keras_name(e)) return e;
      names += std::string(names.empty() ? "" : ", ") + keras_name(e);
    }
    fail(key, value_text(*v), "is not supported (" + names + ")");
  }

  // "float32", or Keras 3's {"class_name": "DTypePolicy", "config": {"name": "float32"}}.
  void dtype();
  // "glorot_uniform" (or Keras's aliases normal, uniform, zero, one), {"class_name": "GlorotUniform",
  // "config": {"seed": ...}} (Keras 3 adds module and registered_name), or the VarianceScaling that
  // Keras 2.0-2.2 wrote for the glorot, he and lecun ones, among `options`; the seed is ignored
  // (--seed decides). args: where the arguments go (random_normal's mean and stddev, ...), Keras's
  // defaults unless the config gives them; null only when no option takes arguments.
  Initializer initializer(const std::string& key, Initializer fallback, const std::vector<Initializer>& options,
                          InitializerArgs* args = nullptr);

  // A weight regularizer (docs/models.md: Regularizers): Keras 2's {"class_name": "L2", "config": {"l2":
  // 0.0001}} (L1, L2, L1L2; Keras 3 adds module and registered_name), or the names "l1", "l2", "l1_l2";
  // Keras's defaults (L1 and L2 0.01, L1L2 0 and 0, "l1_l2" 0.01 and 0.01). Factors must be finite
  // and >= 0; another class (OrthogonalRegularizer, a custom one) is refused. None when absent or null.
  Regularizer regularizer(const std::string& key);

  // Whether the JSON is in Keras 3's form (module or registered_name keys, an InputLayer's
  // batch_shape), which decides hard_sigmoid's formula; the JSON reader sets it.
  void set_keras3(bool keras3) { keras3_ = keras3; }
  bool keras3() const { return keras3_; }

  // Every field not read must be null or false (Keras's "unused"); anything else is refused.
  void finish() const;

 private:
  const json& config_;
  std::string where_;
  std::set<std::string> used_;
  bool keras3_ = false;
};

// An initializer as Keras 2 writes it: {"class_name": "GlorotUniform", "config": {"seed": null}},
// {"class_name": "RandomNormal", "config": {"mean": 0.0, "stddev": 0.05, "seed": null}}; the lecun
// ones as their VarianceScaling (TensorFlow.js knows no LecunNormal: it names them LeCunNormal).
nlohmann::ordered_json initializer_json(Initializer initializer, const InitializerArgs& args = {});
// " random_normal(mean 0, stddev 0.05)": an initializer and its arguments, for describe texts.
std::string initializer_text(Initializer initializer, const InitializerArgs& args);

// Reads the regularizer fields `keys` of a layer into l.regularizers (the ones present and not null).
void read_regularizers(KerasFields& f, LayerSpec& l, std::initializer_list<const char*> keys);
// The regularizer of field `key` as Keras writes it: {"class_name": "L1L2", "config": {"l1": 0.0, "l2":
// 0.0001}}, the one class that every Keras since 2.0 and TensorFlow.js read; null when none.
nlohmann::ordered_json regularizer_json(const LayerSpec& l, const std::string& key);

// A pair of integers as a JSON list: [3, 3].
nlohmann::ordered_json pair_json(const std::array<int, 2>& pair);

}  // namespace fmnist
