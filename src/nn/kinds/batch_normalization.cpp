// BatchNormalization (docs/models.md: BatchNormalization): over the channels axis only, with the
// statistics of the whole global batch in training (the model gathers them across micro-batches
// and ranks) and the moving statistics in evaluation and in ONNX; an Activation('relu') right
// after it is fused in. Its row of the layer registry; the kernel is src/nn/batch_norm.cpp.
#include <ostream>

#include "../keras_fields.hpp"
#include "../registry.hpp"
#include "fmnist/onnx_graph.hpp"
#include "fmnist/text.hpp"

namespace fmnist {
namespace {
namespace batch_normalization_kind {  // a name of its own: src/nn/kinds/*.cpp compile as one unit

// The channels axis only (checked against the input's rank when the spec is planned),
// zeros/ones initializers, gamma_regularizer and beta_regularizer, no constraints (null).
void read(KerasFields& f, LayerSpec& l) {
  const nlohmann::json* axis = f.find("axis");
  if (axis != nullptr) {
    const nlohmann::json& a = axis->is_array() && axis->size() == 1 ? (*axis)[0] : *axis;
    if (!a.is_number_integer()) f.fail("axis", value_text(*axis), "is not an integer or a list of one integer");
    l.axis = f.integer_of("axis", a, -1, 4);
  }
  l.momentum = f.number("momentum", 0.99, 0, 1);
  l.epsilon = f.number("epsilon", 1e-3, 1e-12, 1);
  l.center = f.boolean("center", true);
  l.scale = f.boolean("scale", true);
  const std::vector<Initializer> both{Initializer::zeros, Initializer::ones};
  const char* keys[] = {"gamma_initializer", "beta_initializer", "moving_mean_initializer", "moving_variance_initializer"};
  for (std::size_t i = 0; i < 4; ++i) l.norm_initializers[i] = f.initializer(keys[i], l.norm_initializers[i], both);
  read_regularizers(f, l, {"gamma_regularizer", "beta_regularizer"});
  f.find("synchronized");  // one process normalises with the whole batch: what synchronized=True asks for
}

// Keras 2's order, with the axis resolved: the input's rank counting the batch dimension (3 after
// a Conv2D, 1 after a Dense). As an integer, not Keras 2's list [3]: Keras 3's BatchNormalization
// takes int(axis), which a list fails (keras/src/layers/normalization/batch_normalization.py),
// while Keras 2 and TensorFlow.js take an integer too.
void write(const LayerSpec& l, const Shape* input, nlohmann::ordered_json& c) {
  c["axis"] = static_cast<int>(input->size());
  c["momentum"] = l.momentum;
  c["epsilon"] = l.epsilon;
  c["center"] = l.center;
  c["scale"] = l.scale;
  c["beta_initializer"] = initializer_json(l.norm_initializers[1]);
  c["gamma_initializer"] = initializer_json(l.norm_initializers[0]);
  c["moving_mean_initializer"] = initializer_json(l.norm_initializers[2]);
  c["moving_variance_initializer"] = initializer_json(l.norm_initializers[3]);
  c["beta_regularizer"] = regularizer_json(l, "beta_regularizer");
  c["gamma_regularizer"] = regularizer_json(l, "gamma_regularizer");
  for (const char* key : {"beta_constraint", "gamma_constraint"}) c[key] = nullptr;
}

Shape shape(const LayerCheck& check, const LayerSpec& l, std::span<const Shape> inputs) {
  const Shape& in = inputs[0];
  const int channels_axis = static_cast<int>(in.size());  // counting the batch dimension as axis 0
  if (l.axis != -1 && l.axis != channels_axis)
    check.fail("axis", std::to_string(l.axis), "is not supported (only the channels axis: -1 or " +
                                                   std::to_string(channels_axis) + " for an input of " + shape_text(in) + ")");
  if (!(l.momentum >= 0 && l.momentum <= 1)) check.fail("momentum", std::to_string(l.momentum), "is out of range [0, 1]");
  if (!(l.epsilon > 0 && l.epsilon <= 1)) check.fail("epsilon", std::to_string(l.epsilon), "is out of range (0, 1]");
  return in;
}

// Keras's order: gamma (if scale), beta (if center), moving_mean, moving_variance (non-trainable).
std::vector<WeightSpec> weights(const LayerSpec& l, std::span<const Shape> inputs) {
  const int channels = inputs[0].back();
  const auto& init = l.norm_initializers;
  std::vector<WeightSpec> w;
  if (l.scale) w.push_back({"gamma", {channels}, init[0], true, {}, "gamma_regularizer"});
  if (l.center) w.push_back({"beta", {channels}, init[1], true, {}, "beta_regularizer"});
  w.push_back({"moving_mean", {channels}, init[2], false});
  w.push_back({"moving_variance", {channels}, init[3], false});
  return w;
}

void describe(const LayerSpec& l, std::ostream& out) {
  out << " momentum " << l.momentum << " epsilon " << l.epsilon << (l.center ? "" : " no center")
      << (l.scale ? "" : " no scale");
  for (Initializer i : l.norm_initializers) out << " " << keras_name(i);
}

// The inference form (the moving statistics) over ONNX's channel axis 1: NCHW for an image, (N, C)
// after a Dense. Without scale or center, gamma 1 or beta 0 is stored.
void onnx(OnnxGraph& g, const PlannedLayer& layer) {
  const LayerSpec& l = layer.spec();
  const LayerPlan& lp = layer.plan();
  const std::string x = lp.input_shape.size() == 3 ? g.input_nchw() : g.input();
  const std::size_t channels = std::size_t(lp.input_shape.back());
  std::size_t k = 0;  // Keras's order: gamma (if scale), beta (if center), moving_mean, moving_variance
  auto input = [&](bool present, const char* what, float absent) {
    const TensorSpec& t = layer.tensor(present ? k++ : 0);
    if (present) return g.weights(what, {std::int64_t(channels)}, g.values(t).first(channels), t);
    TensorSpec none = t;
    none.name = l.name + "/" + what + " (absent: " + (absent == 0 ? "zeros" : "ones") + ")";
    const std::vector<float> values(channels, absent);
    return g.weights(what, {std::int64_t(channels)}, values, none);
  };
  std::vector<std::string> inputs{x};
  inputs.push_back(input(l.scale, "gamma", 1.0f));
  inputs.push_back(input(l.center, "beta", 0.0f));
  inputs.push_back(input(true, "moving_mean", 0.0f));
  inputs.push_back(input(true, "moving_variance", 1.0f));
  g.node("BatchNormalization", inputs, {{"epsilon", static_cast<float>(l.epsilon)}});
}

// One BatchNorm for every lane (it keeps no per-call state), with an Activation('relu') after it fused in.
template <typename T>
BuiltLayer<T> make(const LayerBuild<T>& b) {
  const LayerSpec* next = b.next();
  const bool relu = next != nullptr && next->kind == LayerKind::activation && next->activation == Activation::relu;
  if (b.shared == nullptr) {
    const LayerSpec& l = b.layer.spec();
    const Shape& in = b.layer.plan().input_shape;
    std::size_t k = 0;  // gamma (if scale), beta (if center), moving_mean, moving_variance
    auto tensor = [&](bool present) { return present ? &b.layer.tensor(k++) : nullptr; };
    const TensorSpec *gamma = tensor(l.scale), *beta = tensor(l.center), *mean = tensor(true), *variance = tensor(true);
    auto at = [](T* arena, const TensorSpec* t) { return t == nullptr ? nullptr : arena + t->offset; };
    const std::size_t channels = std::size_t(in.back());
    b.shared = std::make_unique<BatchNorm<T>>(int(channels), shape_size(in) / channels, l.momentum, l.epsilon, relu,
                                              at(b.params, gamma), at(b.params, beta), at(b.params, mean),
                                              at(b.params, variance), at(b.grads, gamma), at(b.grads, beta));
  }
  auto* norm = static_cast<BatchNorm<T>*>(b.shared.get());  // made here, for the first lane
  return {nullptr, norm, norm, relu};
}

// Keras 2's [3] or [1] and Keras 3's -1 are one spec once the axis is checked.
void canonical(LayerSpec& l) { l.axis = -1; }

}  // namespace batch_normalization_kind
}  // namespace

extern const LayerKindRow batch_normalization_row = {.kind = LayerKind::batch_normalization,
                                                     .keras_class = "BatchNormalization",
                                                     .base_name = "batch_normalization",
                                                     FMNIST_KIND_FUNCTIONS(batch_normalization_kind, ),
                                                     .weights = batch_normalization_kind::weights,
                                                     .describe = batch_normalization_kind::describe,
                                                     .onnx = batch_normalization_kind::onnx,
                                                     .write_needs_input = true,
                                                     .canonical = batch_normalization_kind::canonical,
                                                     .training_differs = true};

}  // namespace fmnist
