// Writing a spec as Keras's JSON (docs/models.md: Models): the Keras 2 form, Sequential or
// Functional (each layer with its name and inbound_nodes, input_layers, output_layers), with an
// InputLayer carrying batch_input_shape and without the fields one Keras version would reject,
// which Keras 2.x, Keras 3's legacy HDF5 loader and TensorFlow.js all load (each layer's fields as
// its kind's registry row writes them, src/nn/kinds/); and a checkpoint's training_config.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "fmnist/model_spec.hpp"
#include "keras_graph.hpp"
#include "registry.hpp"

namespace fmnist {
namespace {

using ordered_json = nlohmann::ordered_json;

// One layer's config: name, trainable and dtype, then its kind's fields in Keras 2's order.
ordered_json layer_json(const LayerSpec& l, const Shape* input) {
  ordered_json c = {{"name", l.name}, {"trainable", true}, {"dtype", "float32"}};
  const LayerKindRow& row = kind_row(l.kind);
  row.write(l, input, c);
  return {{"class_name", row.keras_class}, {"config", c}};
}

// A Functional config's layer: its class and config, then its name and its one call.
ordered_json functional_layer(ordered_json layer, const std::string& name, const std::vector<std::string>& inputs) {
  layer["name"] = name;
  layer["inbound_nodes"] = inputs.empty() ? ordered_json::array() : inbound_nodes_json(inputs);
  return layer;
}

}  // namespace

std::string to_keras_json(const ModelSpec& spec, int indent) {
  const auto& s = spec.input_shape;
  ordered_json layers = ordered_json::array();
  const ordered_json input = {{"class_name", "InputLayer"},
                              {"config",
                               {{"batch_input_shape", {nullptr, s[0], s[1], s[2]}},
                                {"dtype", "float32"},
                                {"sparse", false},
                                {"name", spec.input_name}}}};
  layers.push_back(spec.functional ? functional_layer(input, spec.input_name, {}) : input);
  // The input shapes, for the kinds that write them (BatchNormalization's axis): plan the spec if
  // it has one (only then: a spec that does not plan is written as it is).
  const bool shapes = std::any_of(spec.layers.begin(), spec.layers.end(),
                                  [](const LayerSpec& l) { return kind_row(l.kind).write_needs_input; });
  const ModelPlan plan = shapes ? plan_model(spec) : ModelPlan();
  for (std::size_t i = 0; i < spec.layers.size(); ++i) {
    ordered_json layer = layer_json(spec.layers[i], shapes ? &plan.layers[i].input_shape : nullptr);
    if (!spec.functional) {
      layers.push_back(std::move(layer));
      continue;
    }
    std::vector<std::string> inputs;
    for (int j : layer_inputs(spec, i)) inputs.push_back(j == kModelInput ? spec.input_name : spec.layers[std::size_t(j)].name);
    layers.push_back(functional_layer(std::move(layer), spec.layers[i].name, inputs));
  }
  if (!spec.functional)
    return ordered_json{{"class_name", "Sequential"}, {"config", {{"name", spec.name}, {"layers", layers}}}}.dump(indent);
  const ordered_json config = {{"name", spec.name},
                               {"layers", layers},
                               {"input_layers", model_end_json(spec.input_name)},
                               {"output_layers", model_end_json(spec.layers.empty() ? spec.input_name : spec.layers.back().name)}};
  return ordered_json{{"class_name", "Functional"}, {"config", config}}.dump(indent);
}

std::string keras_training_config(const ModelSpec& spec, const KerasOptimizerConfig& optimizer,
                                  double label_smoothing) {
  ordered_json loss = "categorical_crossentropy";
  const bool logits = spec.layers.empty() || spec.layers.back().activation != Activation::softmax;
  if (logits || label_smoothing != 0) {
    loss = {{"class_name", "CategoricalCrossentropy"},
            {"config",
             {{"name", "categorical_crossentropy"}, {"from_logits", logits}, {"label_smoothing", label_smoothing}}}};
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
