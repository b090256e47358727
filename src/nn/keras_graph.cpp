// A Functional model's graph in Keras's JSON (keras_graph.hpp): reading each call (Keras 2's
// [name, node_index, tensor_index, kwargs] lists, Keras 3's __keras_tensor__ args), the model's
// ends, Keras's order of model.layers with the refusals of a graph we cannot train, and writing
// the Keras 2 form back.
#include "keras_graph.hpp"

#include <algorithm>
#include <functional>
#include <map>

#include "fmnist/error.hpp"
#include "keras_fields.hpp"

namespace fmnist {
namespace {

using json = nlohmann::json;

[[noreturn]] void fail(const std::string& where, const std::string& field, const std::string& value,
                       const std::string& what) {
  throw Error(Exit::usage, where + ": field '" + field + "': " + value + " " + what);
}

// A call's keyword arguments: null is Keras's "not given"; "training" (true or false) only where
// training and inference compute the same; nothing else.
void check_kwargs(const json& kwargs, const std::string& where, bool training_differs) {
  if (kwargs.is_null()) return;
  if (!kwargs.is_object()) fail(where, "inbound_nodes", value_text(kwargs), "is not an object of call arguments");
  for (const auto& [key, value] : kwargs.items()) {
    if (value.is_null()) continue;
    if (key == "training" && value.is_boolean() && !training_differs) continue;
    fail(where, "inbound_nodes", value_text(kwargs),
         key == "training" ? "is not supported (a call's training argument: the layer trains as it is called by fit)"
                           : "is not supported (only null call arguments)");
  }
}

// [name, node_index, tensor_index] in `field`: the name, with both indexes 0 (each layer's one
// call, one output).
std::string history_name(const json& history, const std::string& where, const std::string& field) {
  if (!history.is_array() || history.size() < 3 || !history[0].is_string() || !history[1].is_number_integer() ||
      !history[2].is_number_integer())
    fail(where, field, value_text(history), "is not [layer name, node_index, tensor_index]");
  if (history[1] != 0)
    fail(where, field, value_text(history),
         "is not supported (node_index " + history[1].dump() + ": another call of a layer called more than once)");
  if (history[2] != 0)
    fail(where, field, value_text(history),
         "is not supported (tensor_index " + history[2].dump() + ": layers with one output only)");
  return history[0].get<std::string>();
}

// Keras 3: {"class_name": "__keras_tensor__", "config": {"shape", "dtype", "keras_history": [...]}}.
std::string tensor_name(const json& tensor, const std::string& where) {
  if (!tensor.is_object() || tensor.value("class_name", json()) != "__keras_tensor__" || !tensor.contains("config") ||
      !tensor["config"].is_object() || !tensor["config"].contains("keras_history"))
    fail(where, "inbound_nodes", value_text(tensor), "is not a __keras_tensor__ with a keras_history");
  return history_name(tensor["config"]["keras_history"], where, "inbound_nodes");
}

// Keras 3's call {"args": [tensor or [tensors]], "kwargs": {...}}.
std::vector<std::string> keras3_call(const json& call, const std::string& where, bool training_differs) {
  const json args = call.value("args", json());
  if (!args.is_array() || args.size() != 1)
    fail(where, "inbound_nodes", value_text(call), "is not supported (a call on one tensor or one list of tensors)");
  check_kwargs(call.value("kwargs", json()), where, training_differs);
  std::vector<std::string> inputs;
  if (args[0].is_array()) {
    for (const json& t : args[0]) inputs.push_back(tensor_name(t, where));
  } else {
    inputs.push_back(tensor_name(args[0], where));
  }
  return inputs;
}

// Keras 2's call [[name, node_index, tensor_index, kwargs], ...].
std::vector<std::string> keras2_call(const json& call, const std::string& where, bool training_differs) {
  std::vector<std::string> inputs;
  for (const json& input : call) {
    inputs.push_back(history_name(input, where, "inbound_nodes"));
    if (input.size() > 4) fail(where, "inbound_nodes", value_text(input), "is not [layer name, node_index, tensor_index, kwargs]");
    if (input.size() == 4) check_kwargs(input[3], where, training_differs);
  }
  return inputs;
}

}  // namespace

std::vector<std::string> read_inbound_nodes(const json& entry, const std::string& where, bool training_differs) {
  const json nodes = entry.value("inbound_nodes", json());
  if (nodes.is_null()) fail(where, "inbound_nodes", "missing", "(a Functional model's layer lists its call)");
  if (!nodes.is_array()) fail(where, "inbound_nodes", value_text(nodes), "is not a list of calls");
  if (nodes.empty())
    fail(where, "inbound_nodes", "[]", "is not supported (the layer is never called: it is not part of the model)");
  if (nodes.size() > 1)
    fail(where, "inbound_nodes", value_text(nodes),
         "is not supported (the layer is called " + std::to_string(nodes.size()) +
             " times: a shared layer; call each layer once)");
  const json& call = nodes[0];
  std::vector<std::string> inputs;
  if (call.is_object()) {
    inputs = keras3_call(call, where, training_differs);
  } else if (call.is_array()) {
    inputs = keras2_call(call, where, training_differs);
  } else {
    fail(where, "inbound_nodes", value_text(nodes), "is not a list of calls");
  }
  if (inputs.empty()) fail(where, "inbound_nodes", value_text(nodes), "is not supported (a call on no tensor)");
  return inputs;
}

std::string read_model_end(const json& config, const char* key, const std::string& source) {
  const std::string field = std::string("config.") + key;
  const json ends = config.value(key, json());
  if (ends.is_null()) throw Error(Exit::usage, source + ": field '" + field + "': missing");
  if (ends.is_array() && !ends.empty() && ends[0].is_string()) return history_name(ends, source, field);  // Keras 3: bare
  if (!ends.is_array() || ends.size() != 1)
    fail(source, field, value_text(ends),
         std::string("is not supported (one ") + (field == "config.input_layers" ? "input" : "output") + " only)");
  return history_name(ends[0], source, field);
}

std::vector<std::size_t> keras_order(const std::vector<GraphLayer>& layers, std::size_t output) {
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < layers.size(); ++i) index.emplace(layers[i].name, i);
  std::vector<std::vector<std::size_t>> inputs(layers.size());
  for (std::size_t i = 0; i < layers.size(); ++i) {
    for (const std::string& name : layers[i].inputs) {
      const auto at = index.find(name);
      if (at == index.end()) fail(layers[i].where, "inbound_nodes", "'" + name + "'", "is not a layer of the model");
      inputs[i].push_back(at->second);
    }
  }
  // The walk from the output (tf_keras _build_map): first reach of each layer, and the layers in
  // post-order (each after its inputs).
  enum class State { unseen, open, done };
  std::vector<State> state(layers.size(), State::unseen);
  std::vector<std::size_t> reached(layers.size(), 0), post;
  std::size_t count = 0;
  std::vector<std::size_t> path;
  std::function<void(std::size_t)> visit = [&](std::size_t i) {
    if (state[i] == State::done) return;
    if (state[i] == State::open) {
      std::string cycle;
      for (auto p = std::find(path.begin(), path.end(), i); p != path.end(); ++p) cycle += "'" + layers[*p].name + "' <- ";
      fail(layers[i].where, "inbound_nodes", cycle + "'" + layers[i].name + "'", "is a cycle (a model is a graph without cycles)");
    }
    state[i] = State::open;
    reached[i] = count++;
    path.push_back(i);
    for (std::size_t j : inputs[i]) visit(j);
    path.pop_back();
    state[i] = State::done;
    post.push_back(i);
  };
  visit(output);
  for (std::size_t i = 0; i < layers.size(); ++i) {
    if (state[i] == State::unseen)
      throw Error(Exit::usage, layers[i].where + ": its output leads to no output of the model (output_layers: '" +
                                   layers[output].name + "')");
  }
  // Depth: the longest path to the output, from the output down (reverse post-order puts every
  // layer after all that take it).
  std::vector<std::size_t> depth(layers.size(), 0);
  for (auto i = post.rbegin(); i != post.rend(); ++i) {
    for (std::size_t j : inputs[*i]) depth[j] = std::max(depth[j], depth[*i] + 1);
  }
  std::vector<std::size_t> order(layers.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return depth[a] != depth[b] ? depth[a] > depth[b] : reached[a] < reached[b];
  });
  return order;
}

nlohmann::ordered_json inbound_nodes_json(const std::vector<std::string>& inputs) {
  nlohmann::ordered_json call = nlohmann::ordered_json::array();
  for (const std::string& name : inputs) call.push_back({name, 0, 0, nlohmann::ordered_json::object()});
  return nlohmann::ordered_json::array({call});
}

nlohmann::ordered_json model_end_json(const std::string& name) {
  return nlohmann::ordered_json::array({nlohmann::ordered_json::array({name, 0, 0})});
}

}  // namespace fmnist
