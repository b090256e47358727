// The planning pass over a model spec: output shapes as TensorFlow computes them, the weight
// tensors in Keras's order with their arena offsets, the checks that keep a spec sane (limits,
// softmax only at the end, unique names), and the summary table. The tutorial's model is here.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <sstream>

#include "fmnist/error.hpp"
#include "fmnist/model_spec.hpp"
#include "fmnist/text.hpp"

namespace fmnist {
namespace {

std::size_t product(const std::vector<int>& shape) {
  std::size_t n = 1;
  for (int d : shape) n *= static_cast<std::size_t>(d);
  return n;
}

// Plans one layer at a time; every refusal names the layer and the field.
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
    std::vector<int> shape = input();
    std::set<std::string> names{spec_.input_name};
    for (i_ = 0; i_ < spec_.layers.size(); ++i_) {
      const LayerSpec& l = spec_.layers[i_];
      if (l.name.empty() || l.name == "." || l.name.find('/') != std::string::npos)
        fail("name", "'" + l.name + "'", "is not a usable name (not empty, no '/')");
      if (!names.insert(l.name).second) fail("name", "'" + l.name + "'", "is used by another layer (names must be unique)");
      LayerPlan lp;
      lp.input_shape = shape;
      lp.output_shape = output_shape(l, shape);
      add_tensors(plan, lp, l, shape);
      plan.activations_per_image += product(lp.output_shape);
      shape = lp.output_shape;
      plan.layers.push_back(std::move(lp));
    }
    i_ = spec_.layers.size() - 1;
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
  std::vector<int> input() const { return {spec_.input_shape.begin(), spec_.input_shape.end()}; }

  [[noreturn]] void fail_model(const std::string& what) const {
    throw Error(Exit::usage, spec_.source + ": " + what);
  }
  [[noreturn]] void fail(const std::string& field, const std::string& value, const std::string& what) const {
    throw Error(Exit::usage, spec_.source + ": " + layer_label(spec_, i_) + ": field '" + field + "': " + value + " " + what);
  }

  void check_count(const std::string& field, int value, int limit) const {
    if (value < 1 || value > limit)
      fail(field, std::to_string(value), "is out of range (1 to " + std::to_string(limit) + ")");
  }

  std::vector<int> output_shape(const LayerSpec& l, const std::vector<int>& in) const {
    const bool last = i_ + 1 == spec_.layers.size();
    if (l.activation == Activation::softmax && !last)
      fail("activation", "\"softmax\"", "is only supported on the last layer (it is trained as logits)");
    switch (l.kind) {
      case LayerKind::conv2d:
      case LayerKind::max_pooling2d:
      case LayerKind::average_pooling2d: return window_shape(l, in);
      case LayerKind::flatten: return {static_cast<int>(product(in))};
      case LayerKind::dense:
        if (in.size() != 1)
          fail("units", std::to_string(l.units),
               "needs a flat input, but the input is " + shape_text(in) + " (add a Flatten before it)");
        check_count("units", l.units, kMaxUnits);
        return {l.units};
      case LayerKind::dropout:
        if (!(l.rate >= 0 && l.rate < 1)) fail("rate", std::to_string(l.rate), "is out of range [0, 1)");
        return in;
      case LayerKind::activation: return in;
      case LayerKind::batch_normalization: check_norm(l, in); return in;
      case LayerKind::random_flip:
      case LayerKind::random_translation:
      case LayerKind::random_rotation:
      case LayerKind::random_zoom: check_augment(l, in); return in;
    }
    return in;
  }

  // BatchNormalization normalises the channels axis (the last one) only.
  void check_norm(const LayerSpec& l, const std::vector<int>& in) const {
    const int channels_axis = static_cast<int>(in.size());  // counting the batch dimension as axis 0
    if (l.axis != -1 && l.axis != channels_axis)
      fail("axis", std::to_string(l.axis), "is not supported (only the channels axis: -1 or " +
                                               std::to_string(channels_axis) + " for an input of " + shape_text(in) + ")");
    if (!(l.momentum >= 0 && l.momentum <= 1)) fail("momentum", std::to_string(l.momentum), "is out of range [0, 1]");
    if (!(l.epsilon > 0 && l.epsilon <= 1)) fail("epsilon", std::to_string(l.epsilon), "is out of range (0, 1]");
  }

  // An augmentation layer transforms images: (h, w, c) inputs, factors within Keras's ranges.
  void check_augment(const LayerSpec& l, const std::vector<int>& in) const {
    const AugmentSpec& a = l.augment;
    const bool flip = l.kind == LayerKind::random_flip, rotation = l.kind == LayerKind::random_rotation;
    const std::string first = flip ? "mode" : rotation ? "factor" : "height_factor";
    auto range_text = [](const std::array<double, 2>& r) {
      std::string text = "[";  // (in steps, as above)
      text += number_text(r[0]) + ", " + number_text(r[1]) + "]";
      return text;
    };
    if (in.size() != 3)
      fail(first, flip ? std::string(1, '"') + keras_name(a.mode) + '"' : range_text(a.height),
           "needs an input of (height, width, channels), but the input is " + shape_text(in) +
               " (put augmentation layers before Flatten)");
    if (flip) return;
    auto check_range = [&](const std::string& field, const std::array<double, 2>& r) {
      if (!(r[0] >= -1 && r[0] <= r[1] && r[1] <= 1))
        fail(field, range_text(r), "is out of range (lower <= upper, each in [-1, 1])");
    };
    check_range(first, a.height);
    if (!rotation && !(l.kind == LayerKind::random_zoom && a.width_is_height)) check_range("width_factor", a.width);
    if (!std::isfinite(a.fill_value)) fail("fill_value", number_text(a.fill_value), "is not a finite number");
  }

  std::vector<int> window_shape(const LayerSpec& l, const std::vector<int>& in) const {
    const bool conv = l.kind == LayerKind::conv2d;
    const std::string size_field = conv ? "kernel_size" : "pool_size";
    std::string size_text = "[";  // (built in steps: GCC 12 warns falsely about "[" + std::string)
    size_text += std::to_string(l.kernel[0]) + ", " + std::to_string(l.kernel[1]) + "]";
    if (in.size() != 3)
      fail(size_field, size_text, "needs an input of (height, width, channels), but the input is " + shape_text(in));
    for (int a = 0; a < 2; ++a) {
      check_count(size_field, l.kernel[a], kMaxWindow);
      check_count("strides", l.strides[a], kMaxWindow);
    }
    if (l.kernel[0] > in[0] || l.kernel[1] > in[1])
      fail(size_field, size_text, "is larger than the input " + shape_text(in));
    int channels = in[2];
    if (conv) {
      check_count("filters", l.units, kMaxUnits);
      const std::size_t patch = std::size_t(l.kernel[0]) * l.kernel[1] * in[2];
      if (patch > kMaxPatch)
        fail(size_field, size_text,
             "times " + std::to_string(in[2]) + " input channels is more than the limit of " + std::to_string(kMaxPatch));
      channels = l.units;
    }
    return {window_output_size(in[0], l.kernel[0], l.strides[0], l.padding),
            window_output_size(in[1], l.kernel[1], l.strides[1], l.padding), channels};
  }

  void add_tensors(ModelPlan& plan, LayerPlan& lp, const LayerSpec& l, const std::vector<int>& in) const {
    if (l.kind == LayerKind::batch_normalization) return add_norm_tensors(plan, lp, l, in.back());
    std::vector<int> kernel;
    if (l.kind == LayerKind::conv2d) kernel = {l.kernel[0], l.kernel[1], in[2], l.units};
    if (l.kind == LayerKind::dense) kernel = {in[0], l.units};
    if (kernel.empty()) return;
    add_tensor(plan, lp, l, "kernel", kernel, l.kernel_initializer, true);
    if (l.use_bias) add_tensor(plan, lp, l, "bias", {l.units}, Initializer::zeros, true);
  }

  // Keras's order: gamma (if scale), beta (if center), moving_mean, moving_variance (non-trainable).
  void add_norm_tensors(ModelPlan& plan, LayerPlan& lp, const LayerSpec& l, int channels) const {
    const auto& init = l.norm_initializers;
    if (l.scale) add_tensor(plan, lp, l, "gamma", {channels}, init[0], true);
    if (l.center) add_tensor(plan, lp, l, "beta", {channels}, init[1], true);
    add_tensor(plan, lp, l, "moving_mean", {channels}, init[2], false);
    add_tensor(plan, lp, l, "moving_variance", {channels}, init[3], false);
  }

  void add_tensor(ModelPlan& plan, LayerPlan& lp, const LayerSpec& l, const char* what, std::vector<int> shape,
                  Initializer init, bool trainable) const {
    TensorSpec t{i_, l.name + "/" + what + ":0", std::move(shape), plan.num_params, 0, init, trainable};
    t.size = product(t.shape);
    plan.num_params += t.size;
    if (trainable) plan.trainable_params += t.size;
    lp.params += t.size;
    lp.tensors.push_back(plan.tensors.size());
    plan.tensors.push_back(std::move(t));
    if (plan.num_params > kMaxParams)
      fail(l.kind == LayerKind::conv2d ? "filters" : "units", std::to_string(l.units),
           "makes more than the limit of " + with_commas(kMaxParams) + " parameters");
  }

  const ModelSpec& spec_;
  std::size_t i_ = 0;
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

const char* keras_name(LayerKind kind) {
  switch (kind) {
    case LayerKind::conv2d: return "Conv2D";
    case LayerKind::max_pooling2d: return "MaxPooling2D";
    case LayerKind::average_pooling2d: return "AveragePooling2D";
    case LayerKind::flatten: return "Flatten";
    case LayerKind::dense: return "Dense";
    case LayerKind::dropout: return "Dropout";
    case LayerKind::activation: return "Activation";
    case LayerKind::batch_normalization: return "BatchNormalization";
    case LayerKind::random_flip: return "RandomFlip";
    case LayerKind::random_translation: return "RandomTranslation";
    case LayerKind::random_rotation: return "RandomRotation";
    case LayerKind::random_zoom: return "RandomZoom";
  }
  return "?";
}

bool is_augmentation(LayerKind kind) {
  return kind == LayerKind::random_flip || kind == LayerKind::random_translation ||
         kind == LayerKind::random_rotation || kind == LayerKind::random_zoom;
}

const char* keras_name(FlipMode mode) {
  switch (mode) {
    case FlipMode::horizontal: return "horizontal";
    case FlipMode::vertical: return "vertical";
    case FlipMode::horizontal_and_vertical: return "horizontal_and_vertical";
  }
  return "?";
}

const char* keras_name(FillMode mode) {
  switch (mode) {
    case FillMode::reflect: return "reflect";
    case FillMode::wrap: return "wrap";
    case FillMode::constant: return "constant";
    case FillMode::nearest: return "nearest";
  }
  return "?";
}

const char* keras_name(Interpolation interpolation) {
  return interpolation == Interpolation::nearest ? "nearest" : "bilinear";
}

const char* keras_name(Activation activation) {
  switch (activation) {
    case Activation::linear: return "linear";
    case Activation::relu: return "relu";
    case Activation::softmax: return "softmax";
  }
  return "?";
}

const char* keras_name(Padding padding) { return padding == Padding::same ? "same" : "valid"; }

const char* keras_name(Initializer initializer) {
  switch (initializer) {
    case Initializer::glorot_uniform: return "glorot_uniform";
    case Initializer::he_uniform: return "he_uniform";
    case Initializer::he_normal: return "he_normal";
    case Initializer::zeros: return "zeros";
    case Initializer::ones: return "ones";
  }
  return "?";
}

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
    const std::string where = s.explicit_input ? "layer 0 '" + s.input_name + "' (InputLayer)" : layer_label(s, 0);
    throw Error(Exit::usage, s.source + ": " + where + ": input shape " + text(s.input_shape) +
                                 " does not match the data's " + text(input));
  }
  if (plan.classes() == classes) return;
  // The layer that sets the output width: the last one that is not Dropout or Activation.
  std::size_t i = s.layers.size() - 1;
  while (i > 0 && (s.layers[i].kind == LayerKind::dropout || s.layers[i].kind == LayerKind::activation)) --i;
  const std::string what = s.layers[i].kind == LayerKind::dense ? "field 'units': " + std::to_string(plan.classes())
                                                                 : std::to_string(plan.classes()) + " outputs";
  throw Error(Exit::usage, s.source + ": " + layer_label(s, i) + ": " + what + " does not match the data's " +
                               std::to_string(classes) + " classes");
}

namespace {

// "height [-0.1, 0.1] width [-0.2, 0.2] reflect bilinear": a geometric augmentation's settings.
void describe_augment(std::ostringstream& out, const LayerSpec& l) {
  const AugmentSpec& a = l.augment;
  auto range = [&](const std::array<double, 2>& r) { out << "[" << number_text(r[0]) << ", " << number_text(r[1]) << "]"; };
  out << (l.kind == LayerKind::random_rotation ? " factor " : " height ");
  range(a.height);
  if (l.kind != LayerKind::random_rotation) {
    out << " width ";
    if (a.width_is_height && l.kind == LayerKind::random_zoom)
      out << "as height";
    else
      range(a.width);
  }
  out << " " << keras_name(a.fill_mode) << " " << keras_name(a.interpolation);
  if (a.fill_mode == FillMode::constant) out << " fill " << number_text(a.fill_value);
}

}  // namespace

std::string describe(const LayerSpec& l) {
  std::ostringstream out;
  out << keras_name(l.kind);
  auto pair = [&](const std::array<int, 2>& a) { out << a[0] << "x" << a[1]; };
  switch (l.kind) {
    case LayerKind::conv2d:
    case LayerKind::max_pooling2d:
    case LayerKind::average_pooling2d:
      if (l.kind == LayerKind::conv2d) out << " " << l.units;
      out << " ";
      pair(l.kernel);
      out << " stride ";
      pair(l.strides);
      out << " " << keras_name(l.padding);
      break;
    case LayerKind::dense: out << " " << l.units; break;
    case LayerKind::dropout: out << " rate " << l.rate; break;
    case LayerKind::batch_normalization:
      out << " momentum " << l.momentum << " epsilon " << l.epsilon << (l.center ? "" : " no center")
          << (l.scale ? "" : " no scale");
      for (Initializer i : l.norm_initializers) out << " " << keras_name(i);
      break;
    case LayerKind::flatten:
    case LayerKind::activation: break;
    case LayerKind::random_flip: out << " " << keras_name(l.augment.mode); break;
    case LayerKind::random_translation:
    case LayerKind::random_rotation:
    case LayerKind::random_zoom: describe_augment(out, l); break;
  }
  if (l.kind == LayerKind::conv2d || l.kind == LayerKind::dense || l.kind == LayerKind::activation)
    out << " " << keras_name(l.activation);
  if (l.kind == LayerKind::conv2d || l.kind == LayerKind::dense)
    out << (l.use_bias ? "" : " no bias") << " " << keras_name(l.kernel_initializer);
  return out.str();
}

std::string layer_label(const ModelSpec& spec, std::size_t i) {
  const LayerSpec& l = spec.layers[i];
  return "layer " + std::to_string(i + (spec.explicit_input ? 1 : 0)) + " '" + l.name + "' (" + keras_name(l.kind) + ")";
}

std::string first_difference(const ModelSpec& a, const ModelSpec& b) {
  auto shape = [](const std::array<int, 3>& s) { return shape_text(std::vector<int>(s.begin(), s.end())); };
  if (a.input_shape != b.input_shape)
    return "the input shape is " + shape(a.input_shape) + " in " + a.source + " but " + shape(b.input_shape) + " in " + b.source;
  for (std::size_t i = 0; i < std::max(a.layers.size(), b.layers.size()); ++i) {
    const bool both = i < a.layers.size() && i < b.layers.size();
    if (both) {
      LayerSpec renamed = b.layers[i];
      renamed.name = a.layers[i].name;
      if (renamed == a.layers[i]) continue;
    }
    const std::string here = i < a.layers.size() ? describe(a.layers[i]) : "absent";
    const std::string there = i < b.layers.size() ? describe(b.layers[i]) : "absent";
    return layer_label(i < a.layers.size() ? a : b, i) + " is " + here + " in " + a.source + " but " + there + " in " +
           b.source;
  }
  return "";
}

std::string model_summary(const ModelPlan& plan) {
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
  out << double_rule << "\n"
      << "Total params: " << with_commas(plan.num_params) << "\n"
      << "Trainable params: " << with_commas(plan.trainable_params) << "\n"
      << "Non-trainable params: " << with_commas(plan.num_params - plan.trainable_params) << "\n"
      << rule << "\n";
  return out.str();
}

}  // namespace fmnist
