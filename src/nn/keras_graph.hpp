// A Functional model's graph as Keras's JSON says it (docs/models.md: Functional models): each
// layer's one call (inbound_nodes, as Keras 2's nested lists or Keras 3's args and kwargs), the
// model's input and output (input_layers, output_layers), the checks (each layer called once, no
// cycle, every layer leading to the output) and Keras's order of model.layers; and the same
// fields as Keras 2 writes them. Private to src/nn: keras_json_read.cpp and keras_json_write.cpp.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace fmnist {

// One entry of a Functional config's layers, as the graph sees it.
struct GraphLayer {
  std::string name;
  std::string where;                // "<source>: layer 3 'add' (Add)": the start of a refusal
  std::vector<std::string> inputs;  // the layers of its call, in order; empty for the InputLayer
};

// The inputs of the one call in entry["inbound_nodes"] of a layer other than the InputLayer.
// training_differs: the layer computes something else in training, so a call's "training"
// argument (other than null) is refused; other arguments must be null. Refuses, naming `where` and
// the field: no call or several (a shared layer), a node_index or tensor_index other than 0.
std::vector<std::string> read_inbound_nodes(const nlohmann::json& entry, const std::string& where, bool training_differs);

// The layer named by config[key] ("input_layers", "output_layers"): one [name, 0, 0], bare
// (Keras 3) or in a list. Refuses several, or none, naming `source` and the field.
std::string read_model_end(const nlohmann::json& config, const char* key, const std::string& source);

// Keras's order of model.layers (tf_keras engine/functional.py _map_graph_network, Keras 3
// ops/function.py map_graph): by depth, the longest path to the output, deepest first (the
// InputLayer), then by the order a depth-first walk from the output along each call's inputs
// first reaches them. Returns a permutation of every index of `layers`; refuses, naming the
// layer: an input that is no layer of the model, a cycle, a layer that leads to no output.
std::vector<std::size_t> keras_order(const std::vector<GraphLayer>& layers, std::size_t output);

// inbound_nodes as Keras 2 writes them for one call on `inputs`: [[["conv2d", 0, 0, {}], ...]].
nlohmann::ordered_json inbound_nodes_json(const std::vector<std::string>& inputs);
// input_layers or output_layers as Keras 2 writes them for one layer: [["dense_1", 0, 0]].
nlohmann::ordered_json model_end_json(const std::string& name);

}  // namespace fmnist
