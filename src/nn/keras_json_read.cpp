// Reading Keras's JSON for Sequential models (docs/models.md: Models), both forms that model.to_json()
// writes (Keras 2.x: dict or list config, batch_input_shape, {"class_name", "config"}
// initializers; Keras 3: module/registered_name, InputLayer batch_shape, DTypePolicy dtypes).
// The document and the InputLayer are read here, each layer's fields by its kind's registry row
// (src/nn/kinds/). Every field is read or refused; nothing is silently ignored unless it is null
// or false (Keras's "not used"), and every refusal names the layer, the field and the value.
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "fmnist/error.hpp"
#include "fmnist/model_spec.hpp"
#include "fmnist/regular_file.hpp"
#include "keras_fields.hpp"
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

// The fields every layer may carry: name (read by the caller), trainable, dtype.
void common_fields(KerasFields& f) {
  f.find("name");
  f.only("trainable", {true}, "only trainable layers");
  f.dtype();
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
    if (*cls != "Sequential") fail("field 'class_name': " + value_text(*cls) + " is not supported (only Sequential)");
    keras3_ = doc.contains("module") || doc.contains("registered_name");
    if (!doc.contains("config")) fail("field 'config': missing");
    const json& config = doc["config"];
    const json* layers = &config;  // Keras 2.2-2.3 wrote the layer list as the config itself
    if (config.is_object()) {
      if (!config.contains("layers")) fail("field 'config.layers': missing");
      layers = &config["layers"];
      if (config.contains("name") && config["name"].is_string()) spec_.name = config["name"];
    }
    if (!layers->is_array()) fail("field 'config.layers': " + value_text(*layers) + " is not a list of layers");
    if (layers->size() > kMaxLayers + 1)
      fail(std::to_string(layers->size()) + " layers is more than the limit of " + std::to_string(kMaxLayers));
    for (std::size_t i = 0; i < layers->size(); ++i) read_layer((*layers)[i], i);
    if (!have_input_ && config.is_object() && config.contains("build_input_shape"))
      read_input_shape(config["build_input_shape"], [&](const std::string& value, const std::string& what) {
        fail("field 'config.build_input_shape': " + value + " " + what);
      });
    if (!have_input_)
      fail("no input shape: the first layer must be an InputLayer with batch_input_shape (Keras 2) or batch_shape "
           "(Keras 3)");
    name_unnamed();
    plan_model(spec_);  // the shape checks (a BatchNormalization axis against its input's rank)
    for (LayerSpec& l : spec_.layers) {  // checked: now one spec whatever form the JSON had
      if (kind_row(l.kind).canonical != nullptr) kind_row(l.kind).canonical(l);
    }
    return spec_;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { throw Error(Exit::usage, spec_.source + ": " + what); }

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

  void read_layer(const json& entry, std::size_t index) {
    const std::string at = "layer " + std::to_string(index);
    if (!entry.is_object()) fail(at + ": " + value_text(entry) + " is not a layer object");
    const json* cfg = entry.contains("config") ? &entry["config"] : nullptr;
    const std::string name = cfg && cfg->is_object() && cfg->contains("name") && (*cfg)["name"].is_string()
                                 ? (*cfg)["name"].get<std::string>()
                                 : "";
    const json cls = entry.value("class_name", json());
    const std::string where =
        at + (name.empty() ? "" : " '" + name + "'") + (cls.is_string() ? " (" + cls.get<std::string>() + ")" : "");
    if (!cls.is_string()) fail(where + ": field 'class_name': " + (cls.is_null() ? "missing" : value_text(cls) + " is not a string"));
    if (cfg == nullptr) fail(where + ": field 'config': missing");
    if (!cfg->is_object()) fail(where + ": field 'config': " + value_text(*cfg) + " is not an object");
    if (cfg->contains("name") && !(*cfg)["name"].is_string())
      fail(where + ": field 'name': " + value_text((*cfg)["name"]) + " is not a string");
    KerasFields f(*cfg, spec_.source + ": " + where);
    keras3_ |= entry.contains("module") || entry.contains("registered_name");
    f.set_keras3(keras3_);
    if (cls == "InputLayer") {
      if (index != 0) f.fail("class_name", "\"InputLayer\"", "is only supported as the first layer");
      read_input_layer(f, name);
      return;
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
    spec_.layers.push_back(std::move(l));
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
