// Reading Keras's JSON for Sequential models (docs/models.md: Models), both forms that model.to_json()
// writes (Keras 2.x: dict or list config, batch_input_shape, {"class_name", "config"}
// initializers; Keras 3: module/registered_name, InputLayer batch_shape, DTypePolicy dtypes).
// Every field is read or refused; nothing is silently ignored unless it is null or false
// (Keras's "not used"), and every refusal names the layer, the field and the value.
#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "fmnist/error.hpp"
#include "fmnist/regular_file.hpp"
#include "fmnist/model_spec.hpp"

namespace fmnist {
namespace {

using nlohmann::json;

// Appends value as JSON, lists spaced as Python prints them ([2, 2]), until out holds 80
// characters: each level adds a character, so a deeply nested value cannot recurse deeply.
void append_value(const json& value, std::string& out) {
  if (value.is_array() || value.is_object()) {
    out += value.is_array() ? '[' : '{';
    bool first = true;
    for (const auto& [key, element] : value.items()) {
      if (out.size() > 80) break;
      out += first ? "" : value.is_array() ? ", " : ",";
      if (value.is_object()) out += json(key).dump() + ":";
      append_value(element, out);
      first = false;
    }
    out += value.is_array() ? ']' : '}';
  } else {
    out += value.dump().substr(0, 81);
  }
}

// A value as messages quote it, cut at 80 characters.
std::string value_text(const json& value) {
  std::string text;
  append_value(value, text);
  return text.size() > 80 ? text.substr(0, 77) + "..." : text;
}

// The class names we read, and their kinds (InputLayer is handled apart).
const std::map<std::string, LayerKind>& layer_kinds() {
  static const std::map<std::string, LayerKind> kinds = [] {
    std::map<std::string, LayerKind> m;
    for (LayerKind k : {LayerKind::conv2d, LayerKind::max_pooling2d, LayerKind::average_pooling2d, LayerKind::flatten,
                        LayerKind::dense, LayerKind::dropout, LayerKind::activation, LayerKind::batch_normalization,
                        LayerKind::random_flip, LayerKind::random_translation, LayerKind::random_rotation,
                        LayerKind::random_zoom})
      m[keras_name(k)] = k;
    return m;
  }();
  return kinds;
}

// Keras's automatic layer names: conv2d, conv2d_1, ... (snake case of the class).
std::string base_name(LayerKind kind) {
  switch (kind) {
    case LayerKind::conv2d: return "conv2d";
    case LayerKind::max_pooling2d: return "max_pooling2d";
    case LayerKind::average_pooling2d: return "average_pooling2d";
    case LayerKind::flatten: return "flatten";
    case LayerKind::dense: return "dense";
    case LayerKind::dropout: return "dropout";
    case LayerKind::activation: return "activation";
    case LayerKind::batch_normalization: return "batch_normalization";
    case LayerKind::random_flip: return "random_flip";
    case LayerKind::random_translation: return "random_translation";
    case LayerKind::random_rotation: return "random_rotation";
    case LayerKind::random_zoom: return "random_zoom";
  }
  return "layer";
}

// One layer's config: typed reads that remember which fields were used, and refusals that name
// the layer, the field and the value.
class Fields {
 public:
  Fields(const json& config, std::string where) : config_(config), where_(std::move(where)) {}

  [[noreturn]] void fail(const std::string& field, const std::string& value, const std::string& what) const {
    throw Error(Exit::usage, where_ + ": field '" + field + "': " + value + " " + what);
  }

  // The field's value, or nothing when it is absent or null.
  const json* find(const std::string& key) {
    used_.insert(key);
    const auto it = config_.find(key);
    return it == config_.end() || it->is_null() ? nullptr : &*it;
  }
  const json& require(const std::string& key) {
    const json* v = find(key);
    if (v == nullptr) throw Error(Exit::usage, where_ + ": field '" + key + "': missing");
    return *v;
  }

  int integer_of(const std::string& key, const json& v, int lo, int hi) const {
    if (!v.is_number_integer()) fail(key, value_text(v), "is not an integer");
    const auto n = v.get<long long>();
    if (n < lo || n > hi) fail(key, value_text(v), "is out of range (" + std::to_string(lo) + " to " + std::to_string(hi) + ")");
    return static_cast<int>(n);
  }
  int integer(const std::string& key, int lo, int hi) { return integer_of(key, require(key), lo, hi); }

  // An integer n (meaning (n, n)) or a list of two integers; `fallback` when absent.
  std::array<int, 2> pair(const std::string& key, int lo, int hi, const std::array<int, 2>* fallback) {
    const json* v = fallback ? find(key) : &require(key);
    if (v == nullptr) return *fallback;
    if (v->is_number_integer()) {
      const int n = integer_of(key, *v, lo, hi);
      return {n, n};
    }
    if (!v->is_array() || v->size() != 2) fail(key, value_text(*v), "is not an integer or a list of two integers");
    return {integer_of(key, (*v)[0], lo, hi), integer_of(key, (*v)[1], lo, hi)};
  }

  // A number in [lo, hi]; `fallback` when absent.
  double number(const std::string& key, double fallback, double lo, double hi) {
    const json* v = find(key);
    if (v == nullptr) return fallback;
    if (!v->is_number()) fail(key, value_text(*v), "is not a number");
    const double x = v->get<double>();
    if (!(x >= lo && x <= hi)) fail(key, value_text(*v), "is out of range [" + json(lo).dump() + ", " + json(hi).dump() + "]");
    return x;
  }

  double number(const std::string& key, double fallback) {
    const json* v = find(key);
    if (v == nullptr) return fallback;
    if (!v->is_number() || !std::isfinite(v->get<double>())) fail(key, value_text(*v), "is not a finite number");
    return v->get<double>();
  }

  bool boolean(const std::string& key, bool fallback) {
    const json* v = find(key);
    if (v == nullptr) return fallback;
    if (!v->is_boolean()) fail(key, value_text(*v), "is not true or false");
    return v->get<bool>();
  }

  std::string text(const std::string& key, const std::string& fallback) {
    const json* v = find(key);
    if (v == nullptr) return fallback;
    if (!v->is_string()) fail(key, value_text(*v), "is not a string");
    return v->get<std::string>();
  }

  // The field must be absent or equal one of `allowed` (Keras's default first).
  void only(const std::string& key, const std::vector<json>& allowed, const std::string& note) {
    const json* v = find(key);
    if (v == nullptr) return;
    for (const json& a : allowed) {
      if (*v == a) return;
    }
    fail(key, value_text(*v), "is not supported (" + note + ")");
  }

  template <typename Enum>
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
  void dtype() {
    const json* v = find("dtype");
    if (v == nullptr) return;
    if (v->is_string() && *v == "float32") return;
    if (v->is_object() && v->contains("config") && (*v)["config"].is_object() && (*v)["config"].contains("name") &&
        (*v)["config"]["name"] == "float32")
      return;
    fail("dtype", value_text(*v), "is not supported (only float32)");
  }

  // "glorot_uniform", {"class_name": "GlorotUniform", "config": {"seed": ...}}, or the
  // VarianceScaling that Keras 2.0-2.2 wrote for each; the seed is ignored (--seed decides).
  Initializer initializer(const std::string& key, Initializer fallback, bool bias) {
    return initializer(key, fallback,
                       bias ? std::vector<Initializer>{Initializer::zeros}
                            : std::vector<Initializer>{Initializer::glorot_uniform, Initializer::he_uniform,
                                                       Initializer::he_normal, Initializer::zeros});
  }

  // The same among `options` (Keras's names), e.g. zeros and ones for BatchNormalization.
  Initializer initializer(const std::string& key, Initializer fallback, const std::vector<Initializer>& options) {
    const json* v = find(key);
    if (v == nullptr) return fallback;
    std::string names;
    for (Initializer i : options) names += std::string(names.empty() ? "" : ", ") + keras_name(i);
    auto refuse = [&] { fail(key, value_text(*v), "is not supported (" + names + ")"); };
    std::string name;
    if (v->is_string()) {
      name = v->get<std::string>();
    } else if (v->is_object() && v->contains("class_name") && (*v)["class_name"].is_string()) {
      static const json none = json::object();
      const std::string cls = (*v)["class_name"];
      const json& config = v->contains("config") && (*v)["config"].is_object() ? (*v)["config"] : none;
      auto field = [&](const char* key, const json& fallback) { return config.contains(key) ? config[key] : fallback; };
      static const std::map<std::string, std::string> classes = {
          {"GlorotUniform", "glorot_uniform"}, {"HeUniform", "he_uniform"}, {"HeNormal", "he_normal"}, {"Zeros", "zeros"},
          {"Ones", "ones"}};
      if (cls == "VarianceScaling") {
        const json scale = field("scale", 1.0), mode = field("mode", "fan_in"), distribution = field("distribution", "");
        if (scale == 1.0 && mode == "fan_avg" && distribution == "uniform") name = "glorot_uniform";
        if (scale == 2.0 && mode == "fan_in" && distribution == "uniform") name = "he_uniform";
        if (scale == 2.0 && mode == "fan_in" && distribution == "truncated_normal") name = "he_normal";
      } else if (classes.count(cls)) {
        name = classes.at(cls);
        for (const auto& [k, value] : config.items()) {
          if (k != "seed" && !value.is_null()) refuse();
        }
      }
    }
    for (Initializer i : options) {
      if (name == keras_name(i)) return i;
    }
    refuse();
    return fallback;
  }

  // Every field not read must be null or false (Keras's "unused"); anything else is refused.
  void finish() const {
    for (const auto& [key, value] : config_.items()) {
      if (used_.count(key) || value.is_null() || value == false) continue;
      fail(key, value_text(value), "is not supported");
    }
  }

 private:
  const json& config_;
  std::string where_;
  std::set<std::string> used_;
};

// The fields every layer may carry: name (read by the caller), trainable, dtype.
void common_fields(Fields& f) {
  f.find("name");
  f.only("trainable", {true}, "only trainable layers");
  f.dtype();
}

void window_fields(Fields& f, LayerSpec& l, bool conv) {
  const std::array<int, 2> one{1, 1};
  if (conv) {
    l.units = f.integer("filters", 1, kMaxUnits);
    l.kernel = f.pair("kernel_size", 1, kMaxWindow, nullptr);
    l.strides = f.pair("strides", 1, kMaxWindow, &one);
  } else {
    const std::array<int, 2> two{2, 2};
    l.kernel = f.pair("pool_size", 1, kMaxWindow, &two);
    l.strides = f.pair("strides", 1, kMaxWindow, &l.kernel);
  }
  l.padding = f.choice("padding", {Padding::valid, Padding::same}, Padding::valid);
  f.only("data_format", {"channels_last"}, "only channels_last");
  if (conv) {
    f.only("dilation_rate", {1, json::array({1, 1})}, "only 1");
    f.only("groups", {1}, "only 1");
  }
}

// BatchNormalization (README: Models): the channels axis only (checked against the input's rank
// when the spec is planned), zeros/ones initializers, no regularizers or constraints (null).
void norm_fields(Fields& f, LayerSpec& l) {
  const json* axis = f.find("axis");
  if (axis != nullptr) {
    const json& a = axis->is_array() && axis->size() == 1 ? (*axis)[0] : *axis;
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
  f.find("synchronized");  // one process normalises with the whole batch: what synchronized=True asks for
}

void weight_fields(Fields& f, LayerSpec& l) {
  l.activation = f.choice("activation", {Activation::relu, Activation::linear, Activation::softmax}, Activation::linear);
  l.use_bias = f.boolean("use_bias", true);
  l.kernel_initializer = f.initializer("kernel_initializer", Initializer::glorot_uniform, false);
  f.initializer("bias_initializer", Initializer::zeros, true);
}

// A Keras augmentation factor: a number f, meaning the range [-|f|, |f|], or a list of two
// numbers (lower, upper), sorted as Keras 3 sorts them; every value within [-1, 1] (Keras 3's
// check for all four layers; Keras 2 checked RandomTranslation and RandomZoom's height alike).
std::array<double, 2> factor_of(Fields& f, const std::string& key, const json& v) {
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

// RandomFlip, RandomTranslation, RandomRotation, RandomZoom (docs/models.md: Models). `seed` is read and
// ignored: the draws come from --seed, as Dropout's masks do.
void augment_fields(Fields& f, LayerSpec& l) {
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
    for (LayerSpec& l : spec_.layers) l.axis = -1;  // checked: Keras 2's [3] or [1] and Keras 3's -1 are one spec
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
    Fields f(*cfg, spec_.source + ": " + where);
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
    switch (l.kind) {
      case LayerKind::conv2d:
        window_fields(f, l, true);
        weight_fields(f, l);
        break;
      case LayerKind::max_pooling2d:
      case LayerKind::average_pooling2d: window_fields(f, l, false); break;
      case LayerKind::flatten: f.only("data_format", {"channels_last"}, "only channels_last"); break;
      case LayerKind::dense:
        l.units = f.integer("units", 1, kMaxUnits);
        weight_fields(f, l);
        break;
      case LayerKind::dropout: {
        const json& rate = f.require("rate");
        if (!rate.is_number()) f.fail("rate", value_text(rate), "is not a number");
        l.rate = rate.get<double>();
        if (!(l.rate >= 0 && l.rate < 1)) f.fail("rate", value_text(rate), "is out of range [0, 1)");
        f.find("seed");  // masks come from --seed (docs/models.md: Models)
        break;
      }
      case LayerKind::batch_normalization: norm_fields(f, l); break;
      case LayerKind::random_flip:
      case LayerKind::random_translation:
      case LayerKind::random_rotation:
      case LayerKind::random_zoom: augment_fields(f, l); break;
      case LayerKind::activation:
        f.require("activation");
        l.activation = f.choice("activation", {Activation::relu, Activation::linear, Activation::softmax},
                                Activation::linear);
        break;
    }
    f.finish();
    spec_.layers.push_back(std::move(l));
  }

  void read_input_layer(Fields& f, const std::string& name) {
    spec_.explicit_input = true;
    if (!name.empty()) spec_.input_name = name;
    f.find("name");
    f.dtype();
    const json* shape = f.find("batch_input_shape");
    const char* field = "batch_input_shape";
    if (shape == nullptr) {
      shape = f.find("batch_shape");
      field = "batch_shape";
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
      const std::string base = base_name(l.kind);
      std::string name = base;
      for (int n = 1; taken.count(name); ++n) name = base + "_" + std::to_string(n);
      l.name = name;
      taken.insert(name);
    }
  }

  const std::string& text_;
  ModelSpec spec_;
  bool have_input_ = false;
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
