// KerasFields: typed reads of one layer's Keras JSON config, with the refusals that name the
// layer, the field and the value; Keras's initializer forms (names, classes and the older
// VarianceScaling) read and written from one table.
#include "keras_fields.hpp"

#include <algorithm>
#include <cmath>

#include "fmnist/error.hpp"
#include "fmnist/text.hpp"

namespace fmnist {
namespace {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;

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

// Keras's initializer classes, by Initializer: the class name, whether its config holds a seed,
// and its arguments in Keras's order (tf_keras/initializers/initializers.py, Keras 3's
// keras/src/initializers/random_initializers.py and constant_initializers.py).
struct InitializerArg {
  const char* key = nullptr;
  double InitializerArgs::*member = nullptr;
};
struct InitializerClass {
  const char* name;
  bool seeded;
  std::array<InitializerArg, 2> args{};
};
constexpr std::array kInitializerClasses{
    InitializerClass{"GlorotUniform", true},
    InitializerClass{"HeUniform", true},
    InitializerClass{"HeNormal", true},
    InitializerClass{"Zeros", false},
    InitializerClass{"Ones", false},
    InitializerClass{"GlorotNormal", true},
    InitializerClass{"LecunUniform", true},
    InitializerClass{"LecunNormal", true},
    InitializerClass{"RandomNormal", true, {{{"mean", &InitializerArgs::mean}, {"stddev", &InitializerArgs::stddev}}}},
    InitializerClass{"RandomUniform", true, {{{"minval", &InitializerArgs::minval}, {"maxval", &InitializerArgs::maxval}}}},
    InitializerClass{"TruncatedNormal", true, {{{"mean", &InitializerArgs::mean}, {"stddev", &InitializerArgs::stddev}}}},
    InitializerClass{"Orthogonal", true, {{{"gain", &InitializerArgs::gain}}}},
    InitializerClass{"Constant", false, {{{"value", &InitializerArgs::value}}}}};
static_assert(kInitializerClasses.size() == static_cast<std::size_t>(Initializer::count), "a class per Initializer");

// The VarianceScaling(scale, mode, distribution) each named one is: Keras 2.0-2.2 wrote them so
// ("normal" was its truncated normal, tf_keras reads it as "truncated_normal"), and the lecun ones
// are written so here.
struct VarianceScalingForm {
  Initializer initializer;
  double scale;
  const char* mode;
  bool uniform;
};
constexpr VarianceScalingForm kVarianceScaling[] = {
    {Initializer::glorot_uniform, 1, "fan_avg", true}, {Initializer::glorot_normal, 1, "fan_avg", false},
    {Initializer::he_uniform, 2, "fan_in", true},      {Initializer::he_normal, 2, "fan_in", false},
    {Initializer::lecun_uniform, 1, "fan_in", true},   {Initializer::lecun_normal, 1, "fan_in", false}};

// Keras's aliases (both lines' initializers/__init__.py) and its class names in snake case.
std::string initializer_alias(const std::string& name) {
  if (name == "normal") return "random_normal";
  if (name == "uniform") return "random_uniform";
  if (name == "zero") return "zeros";
  if (name == "one") return "ones";
  return name;
}

// Keras's name ("glorot_uniform") of an initializer object {"class_name", "config"}, its
// arguments put into args; "" if unknown. refuse(what) is called for a known class with a setting
// we do not support.
template <typename Refuse>
std::string initializer_object_name(const json& v, InitializerArgs& args, Refuse&& refuse) {
  static const json none = json::object();
  const std::string cls = v["class_name"];
  const json& config = v.contains("config") && v["config"].is_object() ? v["config"] : none;
  auto field = [&](const char* key, const json& fallback) { return config.contains(key) ? config[key] : fallback; };
  if (cls == "VarianceScaling") {
    const json scale = field("scale", 1.0), mode = field("mode", "fan_in"), distribution = field("distribution", "truncated_normal");
    const bool uniform = distribution == "uniform", normal = distribution == "normal" || distribution == "truncated_normal";
    for (const VarianceScalingForm& form : kVarianceScaling) {
      if (scale == form.scale && mode == form.mode && (form.uniform ? uniform : normal)) return keras_name(form.initializer);
    }
    return "";
  }
  for (std::size_t i = 0; i < kInitializerClasses.size(); ++i) {
    const InitializerClass& c = kInitializerClasses[i];
    const std::string name = keras_name(static_cast<Initializer>(i));
    if (cls != c.name && cls != name) continue;
    for (const auto& item : config.items()) {
      const std::string& k = item.key();
      const json& value = item.value();
      const auto arg = std::find_if(c.args.begin(), c.args.end(), [&](const InitializerArg& a) { return a.key && k == a.key; });
      if (arg == c.args.end()) {
        if (k != "seed" && !value.is_null()) refuse("is not supported (its '" + k + "')");
      } else if (!value.is_number() || !std::isfinite(value.get<double>())) {
        refuse("has a '" + k + "' that is not a finite number");
      } else {
        args.*(arg->member) = value.get<double>();
      }
    }
    return name;
  }
  return "";
}

}  // namespace

std::string value_text(const json& value) {
  std::string text;
  append_value(value, text);
  return text.size() > 80 ? text.substr(0, 77) + "..." : text;
}

void KerasFields::fail(const std::string& field, const std::string& value, const std::string& what) const {
  throw Error(Exit::usage, where_ + ": field '" + field + "': " + value + " " + what);
}

const nlohmann::json* KerasFields::find(const std::string& key) {
  used_.insert(key);
  const auto it = config_.find(key);
  return it == config_.end() || it->is_null() ? nullptr : &*it;
}

const nlohmann::json& KerasFields::require(const std::string& key) {
  const json* v = find(key);
  if (v == nullptr) throw Error(Exit::usage, where_ + ": field '" + key + "': missing");
  return *v;
}

int KerasFields::integer_of(const std::string& key, const json& v, int lo, int hi) const {
  if (!v.is_number_integer()) fail(key, value_text(v), "is not an integer");
  const auto n = v.get<long long>();
  if (n < lo || n > hi) fail(key, value_text(v), "is out of range (" + std::to_string(lo) + " to " + std::to_string(hi) + ")");
  return static_cast<int>(n);
}

std::array<int, 2> KerasFields::pair(const std::string& key, int lo, int hi, const std::array<int, 2>* fallback) {
  const json* v = fallback ? find(key) : &require(key);
  if (v == nullptr) return *fallback;
  if (v->is_number_integer()) {
    const int n = integer_of(key, *v, lo, hi);
    return {n, n};
  }
  if (!v->is_array() || v->size() != 2) fail(key, value_text(*v), "is not an integer or a list of two integers");
  return {integer_of(key, (*v)[0], lo, hi), integer_of(key, (*v)[1], lo, hi)};
}

double KerasFields::number(const std::string& key, double fallback, double lo, double hi) {
  const json* v = find(key);
  if (v == nullptr) return fallback;
  if (!v->is_number()) fail(key, value_text(*v), "is not a number");
  const double x = v->get<double>();
  if (!(x >= lo && x <= hi)) fail(key, value_text(*v), "is out of range [" + json(lo).dump() + ", " + json(hi).dump() + "]");
  return x;
}

double KerasFields::number(const std::string& key, double fallback) {
  const json* v = find(key);
  if (v == nullptr) return fallback;
  if (!v->is_number() || !std::isfinite(v->get<double>())) fail(key, value_text(*v), "is not a finite number");
  return v->get<double>();
}

bool KerasFields::boolean(const std::string& key, bool fallback) {
  const json* v = find(key);
  if (v == nullptr) return fallback;
  if (!v->is_boolean()) fail(key, value_text(*v), "is not true or false");
  return v->get<bool>();
}

std::string KerasFields::text(const std::string& key, const std::string& fallback) {
  const json* v = find(key);
  if (v == nullptr) return fallback;
  if (!v->is_string()) fail(key, value_text(*v), "is not a string");
  return v->get<std::string>();
}

void KerasFields::only(const std::string& key, const std::vector<json>& allowed, const std::string& note) {
  const json* v = find(key);
  if (v == nullptr) return;
  for (const json& a : allowed) {
    if (*v == a) return;
  }
  fail(key, value_text(*v), "is not supported (" + note + ")");
}

void KerasFields::dtype() {
  const json* v = find("dtype");
  if (v == nullptr) return;
  if (v->is_string() && *v == "float32") return;
  if (v->is_object() && v->contains("config") && (*v)["config"].is_object() && (*v)["config"].contains("name") &&
      (*v)["config"]["name"] == "float32")
    return;
  fail("dtype", value_text(*v), "is not supported (only float32)");
}

Initializer KerasFields::initializer(const std::string& key, Initializer fallback,
                                     const std::vector<Initializer>& options, InitializerArgs* args) {
  const json* v = find(key);
  if (v == nullptr) return fallback;
  std::string names;
  for (Initializer i : options) names += std::string(names.empty() ? "" : ", ") + keras_name(i);
  auto refuse = [&](const std::string& what) { fail(key, value_text(*v), what); };
  InitializerArgs read;
  std::string name;
  if (v->is_string()) {
    name = initializer_alias(v->get<std::string>());
  } else if (v->is_object() && v->contains("class_name") && (*v)["class_name"].is_string()) {
    name = initializer_object_name(*v, read, refuse);
  }
  for (Initializer i : options) {
    if (name != keras_name(i)) continue;
    if (args != nullptr) *args = read;
    return i;
  }
  refuse("is not supported (" + names + ")");
  return fallback;
}

// Keras's regularizer classes and names, with their defaults (keras/src/regularizers/regularizers.py:
// L1(l1=0.01), L2(l2=0.01), L1L2(l1=0.0, l2=0.0), and get('l1_l2') is L1L2(0.01, 0.01); tf_keras's
// regularizers.py the same). A class's config names the factors it takes.
struct RegularizerClass {
  const char* class_name;  // "L2"
  const char* name;        // "l2": the function-style name
  Regularizer defaults;
  Regularizer name_defaults;  // the function-style name's
  bool takes_l1, takes_l2;
};
constexpr RegularizerClass kRegularizerClasses[] = {{"L1", "l1", {0.01, 0}, {0.01, 0}, true, false},
                                                   {"L2", "l2", {0, 0.01}, {0, 0.01}, false, true},
                                                   {"L1L2", "l1_l2", {0, 0}, {0.01, 0.01}, true, true}};

Regularizer KerasFields::regularizer(const std::string& key) {
  const json* v = find(key);
  if (v == nullptr) return {};
  const std::string text = value_text(*v);
  if (v->is_string()) {
    for (const RegularizerClass& c : kRegularizerClasses) {
      if (*v == c.name || *v == c.class_name) return *v == c.name ? c.name_defaults : c.defaults;
    }
    fail(key, text, "is not supported (a regularizer l1, l2 or l1_l2)");
  }
  const json* cls = v->is_object() && v->contains("class_name") ? &(*v)["class_name"] : nullptr;
  const RegularizerClass* c = nullptr;
  for (const RegularizerClass& candidate : kRegularizerClasses) {
    if (cls != nullptr && *cls == candidate.class_name) c = &candidate;
  }
  if (c == nullptr) fail(key, text, "is not supported (a regularizer of class L1, L2 or L1L2)");
  Regularizer r = c->defaults;
  const json& config = v->contains("config") && (*v)["config"].is_object() ? (*v)["config"] : json::object();
  for (const auto& [k, value] : config.items()) {
    const bool l1 = k == "l1" && c->takes_l1, l2 = k == "l2" && c->takes_l2;
    if (!l1 && !l2) fail(key, text, "is not supported (" + std::string(c->class_name) + " has no '" + k + "')");
    if (value.is_null()) continue;  // Keras reads None as 0 (L1L2) or its default (L1, L2)
    if (!value.is_number() || !std::isfinite(value.get<double>()) || value.get<double>() < 0)
      fail(key, text, "has an '" + k + "' that is not a finite number >= 0");
    (l1 ? r.l1 : r.l2) = value.get<double>();
  }
  return r;
}

void KerasFields::finish() const {
  for (const auto& [key, value] : config_.items()) {
    if (used_.count(key) || value.is_null() || value == false) continue;
    fail(key, value_text(value), "is not supported");
  }
}

ordered_json initializer_json(Initializer i, const InitializerArgs& args) {
  for (const VarianceScalingForm& form : kVarianceScaling) {
    if (form.initializer != i || (i != Initializer::lecun_uniform && i != Initializer::lecun_normal)) continue;
    return {{"class_name", "VarianceScaling"},
            {"config",
             {{"scale", form.scale}, {"mode", form.mode}, {"distribution", form.uniform ? "uniform" : "truncated_normal"},
              {"seed", nullptr}}}};
  }
  const InitializerClass& c = kInitializerClasses.at(static_cast<std::size_t>(i));
  ordered_json config = ordered_json::object();
  for (const InitializerArg& a : c.args) {
    if (a.key != nullptr) config[a.key] = args.*(a.member);
  }
  if (c.seeded) config["seed"] = nullptr;
  return {{"class_name", c.name}, {"config", config}};
}

std::string initializer_text(Initializer i, const InitializerArgs& args) {
  std::string text = keras_name(i);
  const InitializerClass& c = kInitializerClasses.at(static_cast<std::size_t>(i));
  for (const InitializerArg& a : c.args) {
    if (a.key != nullptr) text += std::string(a.key == c.args[0].key ? "(" : ", ") + a.key + " " + number_text(args.*(a.member));
  }
  return text + (c.args[0].key != nullptr ? ")" : "");
}

void read_regularizers(KerasFields& f, LayerSpec& l, std::initializer_list<const char*> keys) {
  for (const char* key : keys) {
    if (f.find(key) != nullptr) l.regularizers.emplace_back(key, f.regularizer(key));
  }
}

ordered_json regularizer_json(const LayerSpec& l, const std::string& key) {
  for (const auto& [field, r] : l.regularizers) {
    if (field == key) return {{"class_name", "L1L2"}, {"config", {{"l1", r.l1}, {"l2", r.l2}}}};
  }
  return nullptr;
}

ordered_json pair_json(const std::array<int, 2>& pair) { return ordered_json::array({pair[0], pair[1]}); }

}  // namespace fmnist
