// Model specs for the nn tests, built in C++ (the JSON reader is tested against them): the
// layer builders and three models beside the tutorial's, whose shapes and parameter counts the
// tests compare with values computed by hand.
#pragma once

#include <array>
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fmnist/model_spec.hpp"

namespace fmnist::test {

// A layer with weights (Conv2D or Dense).
inline LayerSpec weighted(LayerKind kind, const std::string& name, int units, Activation act, bool bias, Initializer init) {
  LayerSpec l;
  l.kind = kind;
  l.name = name;
  l.units = units;
  l.activation = act;
  l.use_bias = bias;
  l.kernel_initializer = init;
  return l;
}

inline LayerSpec conv(const std::string& name, int filters, std::array<int, 2> k, std::array<int, 2> s, Padding p,
                      Activation act, bool bias = true, Initializer init = Initializer::glorot_uniform) {
  LayerSpec l = weighted(LayerKind::conv2d, name, filters, act, bias, init);
  l.kernel = k;
  l.strides = s;
  l.padding = p;
  return l;
}

// A DepthwiseConv2D (filters 0) or a SeparableConv2D (filters > 0), dilated by `dilation`.
inline LayerSpec depthwise(const std::string& name, int filters, std::array<int, 2> k, std::array<int, 2> s, Padding p,
                           int depth_multiplier, Activation act, std::array<int, 2> dilation = {1, 1}, bool bias = true) {
  LayerSpec l = conv(name, filters, k, s, p, act, bias);
  l.kind = filters > 0 ? LayerKind::separable_conv2d : LayerKind::depthwise_conv2d;
  l.depth_multiplier = depth_multiplier;
  l.dilation = dilation;
  return l;
}

inline LayerSpec pool(const std::string& name, bool max, std::array<int, 2> k, std::array<int, 2> s, Padding p) {
  LayerSpec l;
  l.kind = max ? LayerKind::max_pooling2d : LayerKind::average_pooling2d;
  l.name = name;
  l.kernel = k;
  l.strides = s;
  l.padding = p;
  return l;
}

inline LayerSpec dense(const std::string& name, int units, Activation act, bool bias = true,
                       Initializer init = Initializer::glorot_uniform) {
  return weighted(LayerKind::dense, name, units, act, bias, init);
}

inline LayerSpec simple(LayerKind kind, const std::string& name, double rate = 0, Activation act = Activation::linear) {
  LayerSpec l;
  l.kind = kind;
  l.name = name;
  l.rate = rate;
  l.activation = act;
  return l;
}

inline ModelSpec model(std::array<int, 3> input, std::vector<LayerSpec> layers) {
  ModelSpec m;
  m.source = "test";
  m.input_shape = input;
  m.layers = std::move(layers);
  return m;
}

// Wider, "same" padding, Dropout: 640 + 73,856 + 1,605,888 + 2,570 = 1,682,954 parameters.
inline ModelSpec wide_same_dropout() {
  const auto same = Padding::same, valid = Padding::valid;
  return model({28, 28, 1}, {conv("conv2d", 64, {3, 3}, {1, 1}, same, Activation::relu),      // (28, 28, 64)
                             pool("max_pooling2d", true, {2, 2}, {2, 2}, valid),               // (14, 14, 64)
                             simple(LayerKind::dropout, "dropout", 0.25),
                             conv("conv2d_1", 128, {3, 3}, {1, 1}, same, Activation::relu),    // (14, 14, 128)
                             pool("max_pooling2d_1", true, {2, 2}, {2, 2}, valid),             // (7, 7, 128)
                             simple(LayerKind::dropout, "dropout_1", 0.25),
                             simple(LayerKind::flatten, "flatten"),                            // (6272)
                             dense("dense", 256, Activation::relu),
                             simple(LayerKind::dropout, "dropout_2", 0.5),
                             dense("dense_1", 10, Activation::softmax)});
}

// Strides, average pooling with "same" padding, no bias, an Activation layer, he initializers:
// 416 + 128 + 2,890 = 3,434 parameters.
inline ModelSpec strided_average() {
  return model({28, 28, 1}, {conv("conv2d", 16, {5, 5}, {2, 2}, Padding::valid, Activation::relu, true,
                                  Initializer::he_uniform),                                    // (12, 12, 16)
                             pool("average_pooling2d", false, {3, 3}, {2, 2}, Padding::same),  // (6, 6, 16)
                             conv("conv2d_1", 8, {1, 1}, {1, 1}, Padding::valid, Activation::linear, false),  // (6, 6, 8)
                             simple(LayerKind::activation, "activation", 0, Activation::relu),
                             simple(LayerKind::flatten, "flatten"),                            // (288)
                             dense("dense", 10, Activation::linear, true, Initializer::he_normal)});
}

// The Keras basic classification tutorial's MLP: 100,480 + 1,290 = 101,770 parameters.
inline ModelSpec mlp() {
  return model({28, 28, 1}, {simple(LayerKind::flatten, "flatten"), dense("dense", 128, Activation::relu),
                             simple(LayerKind::dropout, "dropout", 0.2), dense("dense_1", 10, Activation::softmax)});
}

// ---- One example of every layer kind, for the tests that walk the layer registry ----------------

// A layer of one kind in a small model: InputLayer (6, 5, 3) -> Conv2D 3 1x1 -> Activation linear
// (a view, so that nothing is fused with the example) -> [Flatten] -> the example -> Flatten ->
// Dense 4 softmax: a weight on either side, so that gradient checks pass through the example both
// ways (a kind that must be last, Softmax, comes after Flatten -> Dense 4 linear instead). A merge
// layer (inputs 2) is the Functional model that also takes a second Conv2D 3 1x1 of the input
// ("other") into the example. A new kind adds its line here (test_nn_registry fails until it does).
struct KindExample {
  LayerKind kind;
  const char* config;       // its Keras config, without the name
  bool flat_input;          // a Flatten before it (Dense)
  std::vector<int> output;  // its output shape
  std::size_t params;       // its parameter count
  const char* describe;     // describe() of it
  const char* changed;      // the config with one field changed ("": no field to change)
  int inputs = 1;           // 2: a merge layer, in a Functional model
  bool last = false;        // the model's last layer (Softmax), after Flatten -> Dense 4 linear
};

inline const std::vector<KindExample>& kind_examples() {
  static const std::vector<KindExample> examples = {
      {LayerKind::conv2d, R"({"filters": 4, "kernel_size": [3, 2], "activation": "relu"})", false, {4, 4, 4}, 76,
       "Conv2D 4 3x2 stride 1x1 valid relu glorot_uniform",
       R"({"filters": 4, "kernel_size": [3, 2], "activation": "relu", "padding": "same"})"},
      {LayerKind::max_pooling2d, R"({"pool_size": 2})", false, {3, 2, 3}, 0, "MaxPooling2D 2x2 stride 2x2 valid",
       R"({"pool_size": 2, "padding": "same"})"},
      {LayerKind::average_pooling2d, R"({"pool_size": [2, 3], "strides": 1, "padding": "same"})", false, {6, 5, 3}, 0,
       "AveragePooling2D 2x3 stride 1x1 same", R"({"pool_size": [2, 3], "strides": 1})"},
      {LayerKind::flatten, R"({})", false, {90}, 0, "Flatten", ""},
      {LayerKind::dense, R"({"units": 7, "activation": "relu"})", true, {7}, 637, "Dense 7 relu glorot_uniform",
       R"({"units": 7, "activation": "relu", "use_bias": false})"},
      {LayerKind::dropout, R"({"rate": 0.25})", false, {6, 5, 3}, 0, "Dropout rate 0.25", R"({"rate": 0.5})"},
      {LayerKind::activation, R"({"activation": "relu"})", false, {6, 5, 3}, 0, "Activation relu",
       R"({"activation": "linear"})"},
      {LayerKind::batch_normalization, R"({"momentum": 0.9})", false, {6, 5, 3}, 12,
       "BatchNormalization momentum 0.9 epsilon 0.001 ones zeros zeros ones", R"({"momentum": 0.9, "center": false})"},
      {LayerKind::random_flip, R"({"mode": "horizontal"})", false, {6, 5, 3}, 0, "RandomFlip horizontal",
       R"({"mode": "vertical"})"},
      {LayerKind::random_translation, R"({"height_factor": 0.2, "width_factor": [-0.1, 0.3]})", false, {6, 5, 3}, 0,
       "RandomTranslation height [-0.2, 0.2] width [-0.1, 0.3] reflect bilinear",
       R"({"height_factor": 0.2, "width_factor": [-0.1, 0.3], "fill_mode": "constant"})"},
      {LayerKind::random_rotation, R"({"factor": 0.1})", false, {6, 5, 3}, 0, "RandomRotation factor [-0.1, 0.1] reflect bilinear",
       R"({"factor": 0.1, "interpolation": "nearest"})"},
      {LayerKind::random_zoom, R"({"height_factor": [-0.3, 0.2]})", false, {6, 5, 3}, 0,
       "RandomZoom height [-0.3, 0.2] width as height reflect bilinear",
       R"({"height_factor": [-0.3, 0.2], "width_factor": 0.1})"},
      // Activation layers, global pooling, zero padding:
      {LayerKind::re_lu, R"({"max_value": 0.8, "negative_slope": 0.1, "threshold": 0.05})", false, {6, 5, 3}, 0,
       "ReLU max_value 0.8 negative_slope 0.1 threshold 0.05",
       R"({"max_value": 0.8, "negative_slope": 0.2, "threshold": 0.05})"},
      {LayerKind::leaky_re_lu, R"({"alpha": 0.2})", false, {6, 5, 3}, 0, "LeakyReLU alpha 0.2",
       R"({"negative_slope": 0.25})"},
      {LayerKind::elu, R"({"alpha": 0.7})", false, {6, 5, 3}, 0, "ELU alpha 0.7", R"({})"},
      {LayerKind::softmax, R"({"axis": -1})", false, {4}, 0, "Softmax", "", 1, true},
      {LayerKind::global_average_pooling2d, R"({})", false, {3}, 0, "GlobalAveragePooling2D", R"({"keepdims": true})"},
      {LayerKind::global_max_pooling2d, R"({"keepdims": true})", false, {1, 1, 3}, 0, "GlobalMaxPooling2D keepdims",
       R"({"data_format": "channels_last"})"},
      {LayerKind::zero_padding2d, R"({"padding": [[1, 2], [0, 3]]})", false, {9, 8, 3}, 0,
       "ZeroPadding2D [[1, 2], [0, 3]]", R"({"padding": [1, 2]})"},
      // The depthwise convolutions (one dilated along the rows, relu in its kernel; one with "same"
      // padding, gelu after its kernel).
      {LayerKind::depthwise_conv2d,
       R"({"kernel_size": [2, 2], "dilation_rate": [2, 1], "depth_multiplier": 2, "activation": "relu"})", false,
       {4, 4, 6}, 30, "DepthwiseConv2D 2x2 stride 1x1 valid dilation 2x1 depth_multiplier 2 relu glorot_uniform",
       R"({"kernel_size": [2, 2], "dilation_rate": [2, 1], "depth_multiplier": 1, "activation": "relu"})"},
      {LayerKind::separable_conv2d,
       R"({"filters": 5, "kernel_size": 3, "padding": "same", "depth_multiplier": 2, "pointwise_initializer": "he_normal",
           "activation": "gelu"})",
       false, {6, 5, 5}, 89, "SeparableConv2D 5 3x3 stride 1x1 same depth_multiplier 2 gelu glorot_uniform he_normal",
       R"({"filters": 5, "kernel_size": 3, "padding": "same", "depth_multiplier": 2, "pointwise_initializer": "he_normal",
           "activation": "gelu", "use_bias": false})"},
      // The merge layers (Functional models): nothing to change but Concatenate's axis, whose two
      // spellings (-1, 3) are one spec.
      {LayerKind::add, "{}", false, {6, 5, 3}, 0, "Add", "", 2},
      {LayerKind::subtract, "{}", false, {6, 5, 3}, 0, "Subtract", "", 2},
      {LayerKind::multiply, "{}", false, {6, 5, 3}, 0, "Multiply", "", 2},
      {LayerKind::average, "{}", false, {6, 5, 3}, 0, "Average", "", 2},
      {LayerKind::maximum, "{}", false, {6, 5, 3}, 0, "Maximum", "", 2},
      {LayerKind::minimum, "{}", false, {6, 5, 3}, 0, "Minimum", "", 2},
      {LayerKind::concatenate, R"({"axis": 3})", false, {6, 5, 6}, 0, "Concatenate", "", 2},
  };
  return examples;
}

// The example's model as Keras JSON, with `config` (the example's, or its changed one) for the
// layer named "example", at kind_example_index(e) of the spec's layers (Keras's order of a
// Functional model's: before, spacer, other, example).
inline std::size_t kind_example_index(const KindExample& e) {
  return e.last ? 4 : e.flat_input || e.inputs > 1 ? 3 : 2;
}

// A merge's example: Keras 2's Functional form.
inline std::string merge_example_json(const KindExample& e, const std::string& config) {
  using nlohmann::json;
  json layers = json::array();
  auto add = [&](const char* cls, json c, const char* name, std::vector<std::string> inputs) {
    c["name"] = name;
    json call = json::array();
    for (const std::string& in : inputs) call.push_back({in, 0, 0, json::object()});
    layers.push_back({{"class_name", cls}, {"config", c}, {"name", name},
                      {"inbound_nodes", inputs.empty() ? json::array() : json::array({call})}});
  };
  add("InputLayer", {{"batch_input_shape", {nullptr, 6, 5, 3}}}, "input", {});
  add("Conv2D", {{"filters", 3}, {"kernel_size", 1}}, "before", {"input"});
  add("Activation", {{"activation", "linear"}}, "spacer", {"before"});
  add("Conv2D", {{"filters", 3}, {"kernel_size", 1}}, "other", {"input"});
  add(keras_name(e.kind), json::parse(config), "example", {"spacer", "other"});
  add("Flatten", json::object(), "flatten", {"example"});
  add("Dense", {{"units", 4}, {"activation", "softmax"}}, "dense", {"flatten"});
  const json config_json = {{"name", "example"},
                            {"layers", layers},
                            {"input_layers", {{"input", 0, 0}}},
                            {"output_layers", {{"dense", 0, 0}}}};
  return json{{"class_name", "Functional"}, {"config", config_json}}.dump();
}

inline std::string kind_example_json(const KindExample& e, const std::string& config) {
  using nlohmann::json;
  if (e.inputs > 1) return merge_example_json(e, config);
  json layers = json::array();
  layers.push_back({{"class_name", "InputLayer"}, {"config", {{"name", "input"}, {"batch_input_shape", {nullptr, 6, 5, 3}}}}});
  layers.push_back({{"class_name", "Conv2D"}, {"config", {{"name", "before"}, {"filters", 3}, {"kernel_size", 1}}}});
  layers.push_back({{"class_name", "Activation"}, {"config", {{"name", "spacer"}, {"activation", "linear"}}}});
  if (e.flat_input) layers.push_back({{"class_name", "Flatten"}, {"config", {{"name", "flat_input"}}}});
  json c = json::parse(config);
  c["name"] = "example";
  const json example = {{"class_name", keras_name(e.kind)}, {"config", c}};
  if (!e.last) layers.push_back(example);
  layers.push_back({{"class_name", "Flatten"}, {"config", {{"name", "flatten"}}}});
  layers.push_back(
      {{"class_name", "Dense"}, {"config", {{"name", "dense"}, {"units", 4}, {"activation", e.last ? "linear" : "softmax"}}}});
  if (e.last) layers.push_back(example);
  return json{{"class_name", "Sequential"}, {"config", {{"name", "example"}, {"layers", layers}}}}.dump();
}

}  // namespace fmnist::test
