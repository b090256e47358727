// Reading Keras's JSON for Sequential and Functional models (docs/models.md: Models), both forms
// that model.to_json() writes (Keras 2.x: dict or list config, batch_input_shape, {"class_name",
// "config"} initializers, nested inbound_nodes lists; Keras 3: module/registered_name, InputLayer
// batch_shape, DTypePolicy dtypes, args/kwargs calls). The document and the InputLayer are read
// here, each layer's fields by its kind's registry row (src/nn/kinds/), a Functional model's graph
// by keras_graph.cpp. Every field is read or refused; nothing is silently ignored unless it is null
// or false (Keras's "not used"), and every refusal names the layer, the field and the value.
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "fmnist/error.hpp"
#include "fmnist/model_spec.hpp"
#include "fmnist/regular_file.hpp"
#include "keras_fields.hpp"
#include "keras_graph.hpp"
#include "registry.hpp"

namespace fmnist {
namespace {

using nlohmann::json;

// The class names we read, and their kinds (InputLayer is handled apart).
const std::map<std::string, LayerKind>& layer_kinds() {
  static const std::map<std::string, LayerKind> kinds = [] {
    std::map<std::string, LayerKind> m;
    for (std::size_t k = 0; k < kLayerKindCount; ++k) m[kind_row(LayerKind(k)).keras_class] = LayerKind(k);
    return m;
  }();
  return kinds;
}

// The fields every layer may carry: name (read by the caller), trainable, dtype, and Keras's
// activity_regularizer, which must be null (a penalty on the layer's output, not implemented).
void common_fields(KerasFields& f) {
  f.find("name");
  f.only("trainable", {true}, "only trainable layers");
  f.dtype();
  f.only("activity_regularizer", {}, "a penalty on the layer's output is not implemented; weight regularizers are");
}

class Parser {
 public:
  Parser(const std::string& text, std::string source) : text_(text) { spec_.source = std::move(source); }

  ModelSpec run() {
    spec_.explicit_input = false;
    const json doc = parse();
    if (!doc.is_object()) fail("the JSON is " + std::string(doc.type_name()) + ", not a Keras model object");
    const json* cls = doc.contains("class_name") ? &doc["class_name"] : nullptr;
    if (cls == nullptr) fail("field 'class_name': missing");
    spec_.functional = *cls == "Functional" || *cls == "Model";
    if (*cls != "Sequential" && !spec_.functional)
      fail("field 'class_name': " + value_text(*cls) + " is not supported (Sequential, or Functional or Model)");
    keras3_ = doc.contains("module") || doc.contains("registered_name");
    if (!doc.contains("config")) fail("field 'config': missing");
    if (spec_.functional) {
      read_functional(doc["config"]);
    } else {
      read_sequential(doc["config"]);
    }
    plan_model(spec_);  // the shape checks (a BatchNormalization axis against its input's rank)
    for (LayerSpec& l : spec_.layers) {  // checked: now one spec whatever form the JSON had
      if (kind_row(l.kind).canonical != nullptr) kind_row(l.kind).canonical(l);
    }
    return spec_;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { throw Error(Exit::usage, spec_.source + ": " + what); }

  // config.layers, checked to be a list within the limit.
  const json& layer_list(const json& config) {
    if (config.is_object() && !config.contains("layers")) fail("field 'config.layers': missing");
    const json& layers = config.is_object() ? config["layers"] : config;
    if (!layers.is_array()) fail("field 'config.layers': " + value_text(layers) + " is not a list of layers");
    if (layers.size() > kMaxLayers + 1)
      fail(std::to_string(layers.size()) + " layers is more than the limit of " + std::to_string(kMaxLayers));
    if (config.is_object() && config.contains("name") && config["name"].is_string()) spec_.name = config["name"];
    return layers;
  }

  void read_sequential(const json& config) {
    const json& layers = layer_list(config);  // Keras 2.2-2.3 wrote the layer list as the config itself
    for (std::size_t i = 0; i < layers.size(); ++i) {
      std::string where;
      if (std::optional<LayerSpec> l = read_layer(layers[i], i, where)) spec_.layers.push_back(std::move(*l));
    }
    if (!have_input_ && config.is_object() && config.contains("build_input_shape"))
      read_input_shape(config["build_input_shape"], [&](const std::string& value, const std::string& what) {
        fail("field 'config.build_input_shape': " + value + " " + what);
      });
    if (!have_input_)
      fail("no input shape: the first layer must be an InputLayer with batch_input_shape (Keras 2) or batch_shape "
           "(Keras 3)");
    name_unnamed();
  }

  // A Functional config: the layers in any order, each with its one call, the InputLayer among
  // them; the spec gets them in Keras's order of model.layers, each with its inputs.
  void read_functional(const json& config) {
    spec_.name = "model";
    if (!config.is_object()) fail("field 'config': " + value_text(config) + " is not an object");
    const json& layers = layer_list(config);
    std::vector<GraphLayer> graph;  // every entry of config.layers, in order
    std::vector<LayerSpec> read;    // the same (the InputLayer's unused)
    std::size_t input = layers.size();
    for (std::size_t i = 0; i < layers.size(); ++i) {
      std::string where;
      std::optional<LayerSpec> l = read_layer(layers[i], i, where);
      GraphLayer g{entry_name(layers[i], l ? l->name : spec_.input_name, where), spec_.source + ": " + where, {}};
      if (l) {
        l->name = g.name;
        g.inputs = read_inbound_nodes(layers[i], g.where, kind_row(l->kind).training_differs);
      } else {
        input = i;
        spec_.input_name = g.name;
        const json nodes = layers[i].value("inbound_nodes", json::array());
        if (!nodes.is_array() || !nodes.empty()) fail(where + ": field 'inbound_nodes': " + value_text(nodes) + " is not [] (an InputLayer is called by no one)");
      }
      graph.push_back(std::move(g));
      read.push_back(l ? std::move(*l) : LayerSpec{});
    }
    if (input == layers.size())
      fail("no InputLayer: a Functional model needs one, with batch_input_shape (Keras 2) or batch_shape (Keras 3)");
    arrange(graph, read, input, config);
  }

  // A Functional layer's name: its config's, or the entry's (Keras writes both, the same).
  std::string entry_name(const json& entry, const std::string& configured, const std::string& where) const {
    const json name = entry.value("name", json());
    if (!name.is_null() && !name.is_string()) fail(where + ": field 'name': " + value_text(name) + " is not a string");
    if (name.is_string() && !configured.empty() && name != configured)
      fail(where + ": field 'name': '" + name.get<std::string>() + "' beside the config's '" + configured + "' (they must be one)");
    const std::string chosen = configured.empty() && name.is_string() ? name.get<std::string>() : configured;
    if (chosen.empty()) fail(where + ": field 'name': missing (a Functional model's calls name their layers)");
    return chosen;
  }

  // The checked graph in Keras's order: the spec's layers with their inputs, and where each sat.
  void arrange(const std::vector<GraphLayer>& graph, std::vector<LayerSpec>& read, std::size_t input, const json& config) {
    std::map<std::string, std::size_t> index;
    for (std::size_t i = 0; i < graph.size(); ++i) {
      if (!index.emplace(graph[i].name, i).second)
        throw Error(Exit::usage, graph[i].where + ": field 'name': '" + graph[i].name +
                                     "' is used by another layer (names must be unique)");
    }
    const std::string first = read_model_end(config, "input_layers", spec_.source);
    if (first != spec_.input_name)
      fail("field 'config.input_layers': '" + first + "' is not the InputLayer ('" + spec_.input_name + "')");
    const std::string last = read_model_end(config, "output_layers", spec_.source);
    const auto output = index.find(last);
    if (output == index.end() || output->second == input)
      fail("field 'config.output_layers': '" + last + "' is not a layer of the model after its InputLayer");
    const std::vector<std::size_t> order = keras_order(graph, output->second);
    std::vector<int> placed(graph.size(), kModelInput);  // each entry's index in spec_.layers
    for (std::size_t g : order) {
      if (g == input) continue;
      placed[g] = static_cast<int>(spec_.layers.size());
      spec_.layers.push_back(std::move(read[g]));
    }
    for (std::size_t k = 1; k < order.size(); ++k) {
      for (const std::string& name : graph[order[k]].inputs) spec_.layers[k - 1].inputs.push_back(placed[index.at(name)]);
    }
    bool moved = false;
    for (std::size_t k = 0; k < order.size(); ++k) moved |= order[k] != k;
    if (moved) spec_.positions = order;
  }

  json parse() const {
    try {
      return json::parse(text_);
    } catch (const json::parse_error& e) {
      const std::size_t at = std::min<std::size_t>(e.byte == 0 ? 0 : e.byte - 1, text_.size());  // 0-based
      const std::size_t newline = at == 0 ? std::string::npos : text_.rfind('\n', at - 1);
      const std::size_t line = 1 + static_cast<std::size_t>(std::count(text_.begin(), text_.begin() + at, '\n'));
      const std::size_t column = newline == std::string::npos ? at + 1 : at - newline;
      std::string what = e.what();
      const std::size_t cut = what.find(": ", what.find("parse error"));
      what = cut == std::string::npos ? what : what.substr(cut + 2);
      fail("line " + std::to_string(line) + ", column " + std::to_string(column) + ": malformed JSON: " + what);
    }
  }

  // [batch, h, w, c] with batch null or a number (the batch size is ours to choose).
  // fail_with(value, what) reports a problem.
  template <typename Fail>
  void read_input_shape(const json& v, Fail&& fail_with) {
    if (!v.is_array() || v.size() != 4)
      fail_with(value_text(v), "is not supported (an image input [null, height, width, channels] is needed)");
    if (!v[0].is_null() && !v[0].is_number_integer()) fail_with(value_text(v), "has a batch size that is not null or an integer");
    for (int a = 0; a < 3; ++a) {
      const json& d = v[static_cast<std::size_t>(a) + 1];
      if (!d.is_number_integer() || d.get<long long>() < 1 || d.get<long long>() > kMaxWindow)
        fail_with(value_text(v), "has a size " + value_text(d) + " that is not an integer from 1 to " + std::to_string(kMaxWindow));
      spec_.input_shape[static_cast<std::size_t>(a)] = d.get<int>();
    }
    have_input_ = true;
  }

  // Entry `index` of config.layers: the InputLayer (recorded here: nothing returned) or a layer.
  // where: "layer 3 'conv2d' (Conv2D)", the start of its refusals.
  std::optional<LayerSpec> read_layer(const json& entry, std::size_t index, std::string& where_out) {
    const std::string at = "layer " + std::to_string(index);
    if (!entry.is_object()) fail(at + ": " + value_text(entry) + " is not a layer object");
    const json* cfg = entry.contains("config") ? &entry["config"] : nullptr;
    const std::string name = cfg && cfg->is_object() && cfg->contains("name") && (*cfg)["name"].is_string()
                                 ? (*cfg)["name"].get<std::string>()
                                 : "";
    const json cls = entry.value("class_name", json());
    const std::string where =
        at + (name.empty() ? "" : " '" + name + "'") + (cls.is_string() ? " (" + cls.get<std::string>() + ")" : "");
    where_out = where;
    if (!cls.is_string()) fail(where + ": field 'class_name': " + (cls.is_null() ? "missing" : value_text(cls) + " is not a string"));
    if (cfg == nullptr) fail(where + ": field 'config': missing");
    if (!cfg->is_object()) fail(where + ": field 'config': " + value_text(*cfg) + " is not an object");
    if (cfg->contains("name") && !(*cfg)["name"].is_string())
      fail(where + ": field 'name': " + value_text((*cfg)["name"]) + " is not a string");
    KerasFields f(*cfg, spec_.source + ": " + where);
    keras3_ |= entry.contains("module") || entry.contains("registered_name");
    f.set_keras3(keras3_);
    if (cls == "InputLayer") {
      if (!spec_.functional && index != 0) f.fail("class_name", "\"InputLayer\"", "is only supported as the first layer");
      if (spec_.functional && have_input_)
        f.fail("class_name", "\"InputLayer\"", "is not supported a second time (a model of one input only)");
      read_input_layer(f, name);
      return std::nullopt;
    }
    const auto kind = layer_kinds().find(cls.get<std::string>());
    if (kind == layer_kinds().end()) {
      std::string names = "InputLayer";
      for (const auto& [n, k] : layer_kinds()) names += ", " + n;
      f.fail("class_name", value_text(cls), "is not supported (" + names + ")");
    }
    LayerSpec l;
    l.kind = kind->second;
    l.name = name;
    common_fields(f);
    const json* shape = f.find("batch_input_shape");
    if (index == 0 && shape != nullptr)
      read_input_shape(*shape, [&](const std::string& value, const std::string& what) { f.fail("batch_input_shape", value, what); });
    kind_row(l.kind).read(f, l);
    f.finish();
    return l;
  }

  void read_input_layer(KerasFields& f, const std::string& name) {
    spec_.explicit_input = true;
    if (!name.empty()) spec_.input_name = name;
    f.find("name");
    f.dtype();
    const json* shape = f.find("batch_input_shape");
    const char* field = "batch_input_shape";
    if (shape == nullptr) {
      shape = f.find("batch_shape");
      field = "batch_shape";
      keras3_ |= shape != nullptr;  // Keras 3's InputLayer
    }
    if (shape == nullptr) f.fail("batch_input_shape", "missing", "(or batch_shape)");
    read_input_shape(*shape, [&](const std::string& value, const std::string& what) { f.fail(field, value, what); });
    f.finish();
  }

  // Layers without a name get Keras's automatic one: the first unused of conv2d, conv2d_1, ...
  void name_unnamed() {
    std::set<std::string> taken{spec_.input_name};
    for (const LayerSpec& l : spec_.layers) taken.insert(l.name);
    for (LayerSpec& l : spec_.layers) {
      if (!l.name.empty()) continue;
      const std::string base = kind_row(l.kind).base_name;
      std::string name = base;
      for (int n = 1; taken.count(name); ++n) name = base + "_" + std::to_string(n);
      l.name = name;
      taken.insert(name);
    }
  }

  const std::string& text_;
  ModelSpec spec_;
  bool have_input_ = false;
  bool keras3_ = false;  // the JSON is in Keras 3's form (KerasFields::keras3)
};

}  // namespace

ModelSpec parse_keras_json(const std::string& text, const std::string& source) {
  try {
    return Parser(text, source).run();
  } catch (const json::exception& e) {  // a value of a type no check above foresaw
    throw Error(Exit::usage, source + ": not a Keras model JSON that can be read: " + e.what());
  }
}

ModelSpec read_keras_json(const std::string& path) {
  constexpr std::size_t kMaxModelJsonBytes = std::size_t{16} << 20;  // a FIFO or device is refused, not read
  return parse_keras_json(read_regular_file(path, Exit::usage, kMaxModelJsonBytes, "--model " + path), path);
}

}  // namespace fmnist
