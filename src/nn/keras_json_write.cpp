// Writing a spec as Keras's JSON (docs/models.md: Models): the Keras 2 form, with an InputLayer carrying
// batch_input_shape and without the fields one Keras version would reject, which Keras 2.x,
// Keras 3's legacy HDF5 loader and TensorFlow.js all load; and a checkpoint's training_config.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "fmnist/model_spec.hpp"

namespace fmnist {
namespace {

using ordered_json = nlohmann::ordered_json;

ordered_json initializer_json(Initializer i) {
  switch (i) {
    case Initializer::glorot_uniform: return {{"class_name", "GlorotUniform"}, {"config", {{"seed", nullptr}}}};
    case Initializer::he_uniform: return {{"class_name", "HeUniform"}, {"config", {{"seed", nullptr}}}};
    case Initializer::he_normal: return {{"class_name", "HeNormal"}, {"config", {{"seed", nullptr}}}};
    case Initializer::ones: return {{"class_name", "Ones"}, {"config", ordered_json::object()}};
    case Initializer::zeros: break;
  }
  return {{"class_name", "Zeros"}, {"config", ordered_json::object()}};
}

// BatchNormalization's fields in Keras 2's order, with the axis resolved: the input's rank counting
// the batch dimension (3 after a Conv2D, 1 after a Dense). As an integer, not Keras 2's list [3]:
// Keras 3's BatchNormalization takes int(axis), which a list fails (keras/src/layers/normalization/
// batch_normalization.py), while Keras 2 and TensorFlow.js take an integer too.
void norm_json(ordered_json& c, const LayerSpec& l, int input_rank) {
  c["axis"] = input_rank;
  c["momentum"] = l.momentum;
  c["epsilon"] = l.epsilon;
  c["center"] = l.center;
  c["scale"] = l.scale;
  c["beta_initializer"] = initializer_json(l.norm_initializers[1]);
  c["gamma_initializer"] = initializer_json(l.norm_initializers[0]);
  c["moving_mean_initializer"] = initializer_json(l.norm_initializers[2]);
  c["moving_variance_initializer"] = initializer_json(l.norm_initializers[3]);
  for (const char* key : {"beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint"}) c[key] = nullptr;
}

// A factor range as Keras reads it back: the number f for [-f, f], else the pair.
ordered_json factor_json(const std::array<double, 2>& r) {
  if (r[0] == -r[1] && r[1] >= 0) return r[1];
  return ordered_json::array({r[0], r[1]});
}

// RandomTranslation, RandomRotation, RandomZoom's fields in Keras 2's order (seed null: --seed decides).
void augment_json(const LayerSpec& l, ordered_json& c) {
  const AugmentSpec& a = l.augment;
  if (l.kind == LayerKind::random_rotation) {
    c["factor"] = factor_json(a.height);
  } else {
    c["height_factor"] = factor_json(a.height);
    c["width_factor"] = l.kind == LayerKind::random_zoom && a.width_is_height ? ordered_json(nullptr) : factor_json(a.width);
  }
  c["fill_mode"] = keras_name(a.fill_mode);
  c["fill_value"] = a.fill_value;
  c["interpolation"] = keras_name(a.interpolation);
  c["seed"] = nullptr;
}

// One layer's config in Keras 2's field order; input_rank: of the layer's input, without the batch.
ordered_json layer_json(const LayerSpec& l, int input_rank) {
  ordered_json c = {{"name", l.name}, {"trainable", true}, {"dtype", "float32"}};
  const auto pair = [](const std::array<int, 2>& a) { return ordered_json::array({a[0], a[1]}); };
  switch (l.kind) {
    case LayerKind::conv2d:
      c["filters"] = l.units;
      c["kernel_size"] = pair(l.kernel);
      c["strides"] = pair(l.strides);
      c["padding"] = keras_name(l.padding);
      c["data_format"] = "channels_last";
      c["dilation_rate"] = pair({1, 1});
      break;
    case LayerKind::max_pooling2d:
    case LayerKind::average_pooling2d:
      c["pool_size"] = pair(l.kernel);
      c["padding"] = keras_name(l.padding);
      c["strides"] = pair(l.strides);
      c["data_format"] = "channels_last";
      break;
    case LayerKind::flatten: c["data_format"] = "channels_last"; break;
    case LayerKind::dense: c["units"] = l.units; break;
    case LayerKind::dropout:
      c["rate"] = l.rate;
      c["noise_shape"] = nullptr;
      c["seed"] = nullptr;
      break;
    case LayerKind::activation: c["activation"] = keras_name(l.activation); break;
    case LayerKind::batch_normalization: norm_json(c, l, input_rank); break;
    case LayerKind::random_flip:
      c["mode"] = keras_name(l.augment.mode);
      c["seed"] = nullptr;
      break;
    case LayerKind::random_translation:
    case LayerKind::random_rotation:
    case LayerKind::random_zoom: augment_json(l, c); break;
  }
  if (l.kind == LayerKind::conv2d || l.kind == LayerKind::dense) {
    c["activation"] = keras_name(l.activation);
    c["use_bias"] = l.use_bias;
    c["kernel_initializer"] = initializer_json(l.kernel_initializer);
    c["bias_initializer"] = initializer_json(Initializer::zeros);
    for (const char* key : {"kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint",
                            "bias_constraint"})
      c[key] = nullptr;
  }
  return {{"class_name", keras_name(l.kind)}, {"config", c}};
}

}  // namespace

std::string to_keras_json(const ModelSpec& spec, int indent) {
  const auto& s = spec.input_shape;
  ordered_json layers = ordered_json::array();
  layers.push_back({{"class_name", "InputLayer"},
                    {"config",
                     {{"batch_input_shape", {nullptr, s[0], s[1], s[2]}},
                      {"dtype", "float32"},
                      {"sparse", false},
                      {"name", spec.input_name}}}});
  // The input ranks (only BatchNormalization writes them): plan the spec if it has one.
  const bool norm = std::any_of(spec.layers.begin(), spec.layers.end(),
                                [](const LayerSpec& l) { return l.kind == LayerKind::batch_normalization; });
  const ModelPlan plan = norm ? plan_model(spec) : ModelPlan();
  for (std::size_t i = 0; i < spec.layers.size(); ++i)
    layers.push_back(layer_json(spec.layers[i], norm ? static_cast<int>(plan.layers[i].input_shape.size()) : 0));
  const ordered_json doc = {{"class_name", "Sequential"}, {"config", {{"name", spec.name}, {"layers", layers}}}};
  return doc.dump(indent);
}

std::string keras_training_config(const ModelSpec& spec, const KerasOptimizerConfig& optimizer) {
  ordered_json loss = "categorical_crossentropy";
  if (spec.layers.empty() || spec.layers.back().activation != Activation::softmax) {
    loss = {{"class_name", "CategoricalCrossentropy"},
            {"config", {{"name", "categorical_crossentropy"}, {"from_logits", true}, {"label_smoothing", 0.0}}}};
  }
  ordered_json config = {{"name", optimizer.class_name}};
  for (const auto& [key, value] : optimizer.values) config[key] = value;
  for (const auto& [key, value] : optimizer.flags) config[key] = value;
  const ordered_json doc = {{"loss", loss},
                            {"metrics", ordered_json::array({"accuracy"})},
                            {"weighted_metrics", nullptr},
                            {"loss_weights", nullptr},
                            {"sample_weight_mode", nullptr},
                            {"optimizer_config", {{"class_name", optimizer.class_name}, {"config", config}}}};
  return doc.dump();
}

}  // namespace fmnist
