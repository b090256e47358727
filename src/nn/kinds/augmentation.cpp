// RandomFlip, RandomTranslation, RandomRotation, RandomZoom (docs/models.md: Augmentation layers):
// a random geometric transform per image in training, drawn from --seed like Dropout's masks;
// the identity in evaluation and in ONNX. Their rows of the layer registry; the kernel is
// src/nn/augment.cpp (fmnist/augment.hpp), which spells out Keras's exact meaning.
#include <algorithm>
#include <cmath>
#include <ostream>

#include "../keras_fields.hpp"
#include "../registry.hpp"
#include "fmnist/augment.hpp"
#include "fmnist/text.hpp"

namespace fmnist {
namespace {
namespace augmentation_kind {  // a name of its own: src/nn/kinds/*.cpp compile as one unit

using nlohmann::json;

// A Keras augmentation factor: a number f, meaning the range [-|f|, |f|], or a list of two
// numbers (lower, upper), sorted as Keras 3 sorts them; every value within [-1, 1] (Keras 3's
// check for all four layers; Keras 2 checked RandomTranslation and RandomZoom's height alike).
std::array<double, 2> factor_of(KerasFields& f, const std::string& key, const json& v) {
  const std::string what = "is not supported (a number or a list of two numbers, each in [-1, 1])";
  auto value = [&](const json& e) {
    if (!e.is_number()) f.fail(key, value_text(v), what);
    const double x = e.get<double>();
    if (!(x >= -1 && x <= 1)) f.fail(key, value_text(v), "is out of range (each value in [-1, 1])");
    return x;
  };
  if (v.is_number()) {
    const double x = std::abs(value(v));
    return {-x, x};
  }
  if (!v.is_array() || v.size() != 2) f.fail(key, value_text(v), what);
  const double a = value(v[0]), b = value(v[1]);
  return {std::min(a, b), std::max(a, b)};
}

// `seed` is read and ignored: the draws come from --seed, as Dropout's masks do.
void read(KerasFields& f, LayerSpec& l) {
  AugmentSpec& a = l.augment;
  f.find("seed");
  f.only("data_format", {"channels_last"}, "only channels_last");
  if (l.kind == LayerKind::random_flip) {
    a.mode = f.choice("mode", {FlipMode::horizontal, FlipMode::vertical, FlipMode::horizontal_and_vertical},
                      FlipMode::horizontal_and_vertical);
    return;
  }
  if (l.kind == LayerKind::random_rotation) {
    a.height = factor_of(f, "factor", f.require("factor"));
  } else {
    a.height = factor_of(f, "height_factor", f.require("height_factor"));
    const json* width = l.kind == LayerKind::random_zoom ? f.find("width_factor") : &f.require("width_factor");
    a.width_is_height = width == nullptr;
    a.width = width == nullptr ? a.height : factor_of(f, "width_factor", *width);
  }
  a.fill_mode = f.choice("fill_mode", {FillMode::reflect, FillMode::wrap, FillMode::constant, FillMode::nearest},
                         FillMode::reflect);
  a.interpolation = f.choice("interpolation", {Interpolation::bilinear, Interpolation::nearest}, Interpolation::bilinear);
  a.fill_value = f.number("fill_value", 0.0);
}

// A factor range as Keras reads it back: the number f for [-f, f], else the pair.
nlohmann::ordered_json factor_json(const std::array<double, 2>& r) {
  if (r[0] == -r[1] && r[1] >= 0) return r[1];
  return nlohmann::ordered_json::array({r[0], r[1]});
}

// Keras 2's fields in Keras 2's order (seed null: --seed decides).
void write(const LayerSpec& l, const Shape*, nlohmann::ordered_json& c) {
  const AugmentSpec& a = l.augment;
  if (l.kind == LayerKind::random_flip) {
    c["mode"] = keras_name(a.mode);
    c["seed"] = nullptr;
    return;
  }
  if (l.kind == LayerKind::random_rotation) {
    c["factor"] = factor_json(a.height);
  } else {
    c["height_factor"] = factor_json(a.height);
    c["width_factor"] = l.kind == LayerKind::random_zoom && a.width_is_height ? nlohmann::ordered_json(nullptr)
                                                                                : factor_json(a.width);
  }
  c["fill_mode"] = keras_name(a.fill_mode);
  c["fill_value"] = a.fill_value;
  c["interpolation"] = keras_name(a.interpolation);
  c["seed"] = nullptr;
}

std::string range_text(const std::array<double, 2>& r) {
  std::string text = "[";  // (built in steps: GCC 12 warns falsely about "[" + std::string)
  text += number_text(r[0]) + ", " + number_text(r[1]) + "]";
  return text;
}

// An augmentation layer transforms images: (h, w, c) inputs, factors within Keras's ranges.
Shape shape(const LayerCheck& check, const LayerSpec& l, std::span<const Shape> inputs) {
  const Shape& in = inputs[0];
  const AugmentSpec& a = l.augment;
  const bool flip = l.kind == LayerKind::random_flip, rotation = l.kind == LayerKind::random_rotation;
  const std::string first = flip ? "mode" : rotation ? "factor" : "height_factor";
  if (in.size() != 3)
    check.fail(first, flip ? std::string(1, '"') + keras_name(a.mode) + '"' : range_text(a.height),
               "needs an input of (height, width, channels), but the input is " + shape_text(in) +
                   " (put augmentation layers before Flatten)");
  if (flip) return in;
  auto check_range = [&](const std::string& field, const std::array<double, 2>& r) {
    if (!(r[0] >= -1 && r[0] <= r[1] && r[1] <= 1))
      check.fail(field, range_text(r), "is out of range (lower <= upper, each in [-1, 1])");
  };
  check_range(first, a.height);
  if (!rotation && !(l.kind == LayerKind::random_zoom && a.width_is_height)) check_range("width_factor", a.width);
  if (!std::isfinite(a.fill_value)) check.fail("fill_value", number_text(a.fill_value), "is not a finite number");
  return in;
}

// " horizontal"; "height [-0.1, 0.1] width [-0.2, 0.2] reflect bilinear": a geometric transform's settings.
void describe(const LayerSpec& l, std::ostream& out) {
  const AugmentSpec& a = l.augment;
  if (l.kind == LayerKind::random_flip) {
    out << " " << keras_name(a.mode);
    return;
  }
  out << (l.kind == LayerKind::random_rotation ? " factor " : " height ") << range_text(a.height);
  if (l.kind != LayerKind::random_rotation)
    out << " width " << (a.width_is_height && l.kind == LayerKind::random_zoom ? "as height" : range_text(a.width));
  out << " " << keras_name(a.fill_mode) << " " << keras_name(a.interpolation);
  if (a.fill_mode == FillMode::constant) out << " fill " << number_text(a.fill_value);
}

template <typename T>
BuiltLayer<T> make(const LayerBuild<T>& b) {
  const Shape& in = b.layer.plan().input_shape;
  return own<T>(std::make_unique<Augment<T>>(b.layer.spec(), std::array<int, 3>{in[0], in[1], in[2]}, b.layer.index,
                                             b.max_batch));
}

constexpr LayerKindRow augmentation(LayerKind kind, const char* keras_class, const char* base_name) {
  return {.kind = kind,
          .keras_class = keras_class,
          .base_name = base_name,
          FMNIST_KIND_FUNCTIONS(augmentation_kind, ),
          .describe = describe,
          .training_differs = true};
}

}  // namespace augmentation_kind
}  // namespace

extern const LayerKindRow random_flip_row =
    augmentation_kind::augmentation(LayerKind::random_flip, "RandomFlip", "random_flip");
extern const LayerKindRow random_translation_row =
    augmentation_kind::augmentation(LayerKind::random_translation, "RandomTranslation", "random_translation");
extern const LayerKindRow random_rotation_row =
    augmentation_kind::augmentation(LayerKind::random_rotation, "RandomRotation", "random_rotation");
extern const LayerKindRow random_zoom_row =
    augmentation_kind::augmentation(LayerKind::random_zoom, "RandomZoom", "random_zoom");

bool is_augmentation(LayerKind kind) {
  return kind == LayerKind::random_flip || kind == LayerKind::random_translation || kind == LayerKind::random_rotation ||
         kind == LayerKind::random_zoom;
}

}  // namespace fmnist
