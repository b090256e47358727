// The planning pass over a model spec: each layer's inputs, consumers, output shape and weight
// tensors as its kind's registry row gives them (registry.hpp), the tensors' arena offsets, the
// checks that keep a spec sane (limits, softmax only at the end, unique names, a Functional graph
// whose layers each take layers before them and lead to the output), and the summary tables
// (Sequential and Functional). The tutorial's model is here.
#include <algorithm>
#include <cstdio>
#include <set>
#include <span>
#include <sstream>

#include "fmnist/error.hpp"
#include "fmnist/model_spec.hpp"
#include "fmnist/text.hpp"
#include "registry.hpp"

namespace fmnist {
namespace {

// Plans one layer at a time, by its kind's registry row; every refusal names the layer and the field.
class Planner {
 public:
  explicit Planner(const ModelSpec& spec) : spec_(spec) {}

  ModelPlan run() {
    ModelPlan plan;
    plan.spec = spec_;
    if (spec_.layers.empty()) fail_model("the model has no layers after the InputLayer");
    if (spec_.layers.size() > kMaxLayers)
      fail_model(std::to_string(spec_.layers.size()) + " layers is more than the limit of " +
                 std::to_string(kMaxLayers));
    for (int d : spec_.input_shape) {
      if (d < 1 || d > kMaxWindow) fail_model("input shape " + shape_text(input()) + " is out of range");
    }
    std::set<std::string> names{spec_.input_name};
    for (std::size_t i = 0; i < spec_.layers.size(); ++i) {
      const LayerSpec& l = spec_.layers[i];
      const LayerCheck check(spec_.source + ": " + layer_label(spec_, i));
      if (l.name.empty() || l.name == "." || l.name.find('/') != std::string::npos)
        check.fail("name", "'" + l.name + "'", "is not a usable name (not empty, no '/')");
      if (!names.insert(l.name).second)
        check.fail("name", "'" + l.name + "'", "is used by another layer (names must be unique)");
      if (l.activation == Activation::softmax && i + 1 != spec_.layers.size()) {
        if (l.kind == LayerKind::softmax)
          check.fail("class_name", "\"Softmax\"", "is only supported as the last layer (it is trained as logits)");
        check.fail("activation", "\"softmax\"", "is only supported on the last layer (it is trained as logits)");
      }
      const LayerKindRow& row = kind_row(l.kind);
      LayerPlan lp;
      lp.inputs = checked_inputs(check, i);
      for (int j : lp.inputs) {
        lp.input_shapes.push_back(j == kModelInput ? input() : plan.layers[std::size_t(j)].output_shape);
        if (j != kModelInput) plan.layers[std::size_t(j)].consumers.push_back(i);
      }
      lp.input_shape = lp.input_shapes[0];
      lp.output_shape = row.shape(check, l, lp.input_shapes);
      if (row.weights != nullptr) add_tensors(plan, lp, i, row.weights(l, lp.input_shapes));
      if (plan.num_params > kMaxParams)
        check.fail(row.width_field ? row.width_field : "units", std::to_string(l.*row.width_value),
                   "makes more than the limit of " + with_commas(kMaxParams) + " parameters");
      plan.activations_per_image += shape_size(lp.output_shape);
      plan.layers.push_back(std::move(lp));
    }
    for (std::size_t i = 0; i + 1 < plan.layers.size(); ++i) {
      if (plan.layers[i].consumers.empty())
        fail_model(layer_label(spec_, i) + ": its output leads to no output of the model (a Functional model's one "
                   "output is its last layer, '" + spec_.layers.back().name + "')");
    }
    const Shape& shape = plan.layers.back().output_shape;
    if (shape.size() != 1)
      fail_model("the model must end in a flat output of class scores (Flatten and Dense), not " +
                 shape_text(shape));
    if (plan.num_params > kMaxParams)
      fail_model(with_commas(plan.num_params) + " parameters is more than the limit of " + with_commas(kMaxParams));
    if (plan.activations_per_image > kMaxActivationsPerImage)
      fail_model(with_commas(plan.activations_per_image) + " layer output values per image is more than the limit of " +
                 with_commas(kMaxActivationsPerImage));
    return plan;
  }

 private:
  Shape input() const { return {spec_.input_shape.begin(), spec_.input_shape.end()}; }

  // Layer i's inputs: layers before it (or the InputLayer), as many as its kind takes.
  std::vector<int> checked_inputs(const LayerCheck& check, std::size_t i) const {
    const LayerSpec& l = spec_.layers[i];
    if (!spec_.functional && !l.inputs.empty())
      check.fail("inbound_nodes", inputs_text(spec_, l.inputs), "is not supported in a Sequential model");
    std::vector<int> inputs = layer_inputs(spec_, i);
    for (int j : inputs) {
      if (j < kModelInput || j >= static_cast<int>(i))
        check.fail("inbound_nodes", inputs_text(spec_, inputs), "do not all name the InputLayer or a layer before it");
    }
    const bool merge = kind_row(l.kind).merge;
    if (inputs.empty() || (merge && inputs.size() < 2) || (!merge && inputs.size() > 1))
      check.fail("inbound_nodes", inputs_text(spec_, inputs),
                 merge ? "is not supported (a merge layer takes two or more inputs, in a Functional model)"
                       : "is not supported (" + std::string(keras_name(l.kind)) + " takes one input)");
    return inputs;
  }

  [[noreturn]] void fail_model(const std::string& what) const {
    throw Error(Exit::usage, spec_.source + ": " + what);
  }

  // Places layer i's weight tensors in the arenas, named "<layer>/<what>:0".
  void add_tensors(ModelPlan& plan, LayerPlan& lp, std::size_t i, std::vector<WeightSpec> weights) const {
    for (WeightSpec& w : weights) {
      const Regularizer regularizer =
          w.regularizer == nullptr ? Regularizer{} : regularizer_of(spec_.layers[i].regularizers, w.regularizer);
      TensorSpec t{i, spec_.layers[i].name + "/" + w.what + ":0", std::move(w.shape), plan.num_params, 0, w.initializer,
                   w.trainable, w.initializer_args, regularizer};
      t.size = shape_size(t.shape);
      plan.num_params += t.size;
      if (t.trainable) plan.trainable_params += t.size;
      lp.params += t.size;
      lp.tensors.push_back(plan.tensors.size());
      plan.tensors.push_back(std::move(t));
    }
  }

  const ModelSpec& spec_;
};

LayerSpec conv(const char* name, int filters) {
  LayerSpec l;
  l.kind = LayerKind::conv2d;
  l.name = name;
  l.units = filters;
  l.kernel = {3, 3};
  l.activation = Activation::relu;
  return l;
}

LayerSpec layer(LayerKind kind, const char* name) {
  LayerSpec l;
  l.kind = kind;
  l.name = name;
  if (kind == LayerKind::max_pooling2d) l.kernel = l.strides = {2, 2};
  return l;
}

LayerSpec dense(const char* name, int units, Activation activation) {
  LayerSpec l = layer(LayerKind::dense, name);
  l.units = units;
  l.activation = activation;
  return l;
}

}  // namespace

ModelSpec tutorial_model_spec() {
  ModelSpec spec;
  spec.source = "the default model";
  spec.input_shape = {28, 28, 1};
  spec.layers = {conv("conv2d", 32),
                 layer(LayerKind::max_pooling2d, "max_pooling2d"),
                 conv("conv2d_1", 64),
                 layer(LayerKind::max_pooling2d, "max_pooling2d_1"),
                 conv("conv2d_2", 64),
                 layer(LayerKind::flatten, "flatten"),
                 dense("dense", 64, Activation::relu),
                 dense("dense_1", 10, Activation::softmax)};
  return spec;
}

int window_output_size(int n, int k, int s, Padding padding) {
  if (padding == Padding::same) return (n + s - 1) / s;
  return n < k ? 0 : (n - k) / s + 1;
}

int window_pad_before(int n, int k, int s, Padding padding) {
  if (padding == Padding::valid) return 0;
  const int total = std::max((window_output_size(n, k, s, padding) - 1) * s + k - n, 0);
  return total / 2;
}

bool ModelPlan::softmax_output() const { return spec.layers.back().activation == Activation::softmax; }

ModelPlan plan_model(const ModelSpec& spec) { return Planner(spec).run(); }

void require_data_shape(const ModelPlan& plan, const std::array<int, 3>& input, int classes) {
  const ModelSpec& s = plan.spec;
  auto text = [](const std::array<int, 3>& a) { return shape_text(std::vector<int>(a.begin(), a.end())); };
  if (s.input_shape != input) {
    const std::size_t at = s.positions.empty() ? 0 : s.positions[0];
    const std::string where =
        s.explicit_input ? "layer " + std::to_string(at) + " '" + s.input_name + "' (InputLayer)" : layer_label(s, 0);
    throw Error(Exit::usage, s.source + ": " + where + ": input shape " + text(s.input_shape) +
                                 " does not match the data's " + text(input));
  }
  if (plan.classes() == classes) return;
  // The layer that sets the output width: the last one that does not pass its (first) input's through.
  std::size_t i = s.layers.size() - 1;
  while (kind_row(s.layers[i].kind).pass_through && layer_inputs(s, i)[0] != kModelInput)
    i = std::size_t(layer_inputs(s, i)[0]);
  const char* field = kind_row(s.layers[i].kind).width_field;
  const std::string what = field ? "field '" + std::string(field) + "': " + std::to_string(plan.classes())
                                 : std::to_string(plan.classes()) + " outputs";
  throw Error(Exit::usage, s.source + ": " + layer_label(s, i) + ": " + what + " does not match the data's " +
                               std::to_string(classes) + " classes");
}

std::vector<ParamRange> trainable_ranges(const ModelPlan& plan) {
  std::vector<ParamRange> ranges;
  for (const TensorSpec& t : plan.tensors) {
    if (!t.trainable) continue;
    if (!ranges.empty() && ranges.back().end == t.offset) {
      ranges.back().end = t.offset + t.size;
    } else {
      ranges.push_back({t.offset, t.offset + t.size});
    }
  }
  return ranges;
}

Regularizer regularizer_of(const Regularizers& regularizers, const std::string& key) {
  for (const auto& [field, r] : regularizers) {
    if (field == key) return r;
  }
  return {};
}

// The maths by the kind's row, then each regularizer: " kernel_regularizer l2 0.0001".
std::string describe(const LayerSpec& l) {
  std::ostringstream out;
  const LayerKindRow& row = kind_row(l.kind);
  out << row.keras_class;
  if (row.describe != nullptr) row.describe(l, out);
  for (const auto& [field, r] : l.regularizers) {
    out << " " << field;
    if (r.l1 != 0 || r.l2 == 0) out << " l1 " << number_text(r.l1);
    if (r.l2 != 0) out << " l2 " << number_text(r.l2);
  }
  return out.str();
}

std::string layer_label(const ModelSpec& spec, std::size_t i) {
  const LayerSpec& l = spec.layers[i];
  const std::size_t at = spec.positions.empty() ? i + (spec.explicit_input ? 1 : 0) : spec.positions.at(i + 1);
  return "layer " + std::to_string(at) + " '" + l.name + "' (" + keras_name(l.kind) + ")";
}

std::vector<int> layer_inputs(const ModelSpec& spec, std::size_t i) {
  if (spec.functional) return spec.layers[i].inputs;
  return {static_cast<int>(i) - 1};
}

std::vector<std::string> keras_layer_names(const ModelSpec& spec) {
  std::vector<std::string> names;
  if (spec.functional) names.push_back(spec.input_name);
  for (const LayerSpec& l : spec.layers) names.push_back(l.name);
  return names;
}

std::string inputs_text(const ModelSpec& spec, const std::vector<int>& inputs) {
  std::string text;
  for (int j : inputs) {
    const bool known = j >= kModelInput && j < static_cast<int>(spec.layers.size());
    const std::string name = j == kModelInput ? spec.input_name : known ? spec.layers[std::size_t(j)].name : std::to_string(j);
    text += (text.empty() ? "'" : ", '") + name + "'";
  }
  return "[" + text + "]";
}

std::string first_difference(const ModelSpec& a, const ModelSpec& b) {
  auto shape = [](const std::array<int, 3>& s) { return shape_text(std::vector<int>(s.begin(), s.end())); };
  if (a.input_shape != b.input_shape)
    return "the input shape is " + shape(a.input_shape) + " in " + a.source + " but " + shape(b.input_shape) + " in " + b.source;
  for (std::size_t i = 0; i < std::max(a.layers.size(), b.layers.size()); ++i) {
    const bool both = i < a.layers.size() && i < b.layers.size();
    if (both) {
      LayerSpec x = a.layers[i], y = b.layers[i];
      x.name = y.name;
      x.inputs = y.inputs = {};  // compared as layer_inputs: a Sequential model is a Functional chain
      const std::vector<int> from_a = layer_inputs(a, i), from_b = layer_inputs(b, i);
      if (x == y && from_a == from_b) continue;
      if (x == y)
        return layer_label(a, i) + " takes " + inputs_text(a, from_a) + " in " + a.source + " but " +
               inputs_text(b, from_b) + " in " + b.source;
    }
    const std::string here = i < a.layers.size() ? describe(a.layers[i]) : "absent";
    const std::string there = i < b.layers.size() ? describe(b.layers[i]) : "absent";
    return layer_label(i < a.layers.size() ? a : b, i) + " is " + here + " in " + a.source + " but " + there + " in " +
           b.source;
  }
  return "";
}

namespace {

// The end of Keras 2's summary: the parameter counts between rules `width` characters wide.
std::string summary_totals(const ModelPlan& plan, std::size_t width) {
  std::string text(width, '=');
  text += "\nTotal params: ";
  text += with_commas(plan.num_params);
  text += "\nTrainable params: ";
  text += with_commas(plan.trainable_params);
  text += "\nNon-trainable params: ";
  text += with_commas(plan.num_params - plan.trainable_params);
  text += '\n';
  text.append(width, '_');
  text += '\n';
  return text;
}

// Keras 2's summary of a Functional model: its InputLayer first, and "Connected to": each
// layer's inputs as name[node][tensor], one a line.
std::string functional_summary(const ModelPlan& plan) {
  const std::string rule(98, '_'), double_rule(98, '='), blank(98, ' ');
  char line[400];
  std::ostringstream out;
  out << "Model: \"" << plan.spec.name << "\"\n" << rule << "\n";
  auto row = [&](const std::string& name, const std::string& shape, const std::string& params, const std::string& link) {
    std::snprintf(line, sizeof line, " %-30s %-20s %-11s %s", name.c_str(), shape.c_str(), params.c_str(), link.c_str());
    out << line << "\n";
  };
  row("Layer (type)", "Output Shape", "Param #", "Connected to");
  out << double_rule << "\n";
  const std::vector<int> input_shape(plan.spec.input_shape.begin(), plan.spec.input_shape.end());
  row(plan.spec.input_name + " (InputLayer)", "[" + batch_shape_text(input_shape) + "]", "0", "[]");
  for (std::size_t i = 0; i < plan.layers.size(); ++i) {
    const LayerSpec& l = plan.spec.layers[i];
    const std::vector<int>& inputs = plan.layers[i].inputs;
    out << blank << "\n";
    for (std::size_t k = 0; k < inputs.size(); ++k) {
      const int j = inputs[k];
      const std::string link = std::string(k == 0 ? "['" : " '") + (j == kModelInput ? plan.spec.input_name : plan.spec.layers[std::size_t(j)].name) +
                               "[0][0]'" + (k + 1 == inputs.size() ? "]" : ",");
      if (k == 0) {
        row(l.name + " (" + keras_name(l.kind) + ")", batch_shape_text(plan.layers[i].output_shape),
            with_commas(plan.layers[i].params), link);
      } else {
        row("", "", "", link);
      }
    }
  }
  return out.str() + summary_totals(plan, rule.size());
}

}  // namespace

std::string model_summary(const ModelPlan& plan) {
  if (plan.spec.functional) return functional_summary(plan);
  const std::string rule(74, '_');
  const std::string double_rule(74, '=');
  char line[200];
  std::ostringstream out;
  out << "Model: \"" << plan.spec.name << "\"\n" << rule << "\n";
  // Columns as Keras 2 prints them; a name or shape too long for its column still gets a space.
  std::snprintf(line, sizeof line, " %-33s %-25s %-12s\n", "Layer (type)", "Output Shape", "Param #");
  out << line << double_rule << "\n";
  for (std::size_t i = 0; i < plan.layers.size(); ++i) {
    const LayerSpec& l = plan.spec.layers[i];
    const std::string name = l.name + " (" + keras_name(l.kind) + ")";
    std::snprintf(line, sizeof line, " %-33s %-25s %-12s\n", name.c_str(),
                  batch_shape_text(plan.layers[i].output_shape).c_str(), with_commas(plan.layers[i].params).c_str());
    out << line << (i + 1 < plan.layers.size() ? "\n" : "");
  }
  return out.str() + summary_totals(plan, rule.size());
}

}  // namespace fmnist
