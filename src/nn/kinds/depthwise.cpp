// DepthwiseConv2D and SeparableConv2D (docs/models.md: Models): each input channel convolved with
// its own depth_multiplier kernels, a (kh, kw, in, depth_multiplier) depthwise_kernel, output channel
// c * depth_multiplier + m; SeparableConv2D then mixes those channels with a pointwise_kernel
// (1, 1, in * depth_multiplier, filters) and its bias. The checkpoint keeps Keras 2's weight names
// (Keras 3 calls DepthwiseConv2D's variable `kernel`; its legacy loader takes weights by order).
// Their rows of the layer registry; the kernels are src/nn/depthwise_conv2d.cpp and
// src/nn/separable_conv2d.cpp. In ONNX a Conv whose group is the input channels (then a 1x1 Conv).
#include <ostream>

#include "../keras_fields.hpp"
#include "activations.hpp"
#include "weighted.hpp"
#include "window.hpp"

namespace fmnist {
namespace {
namespace depthwise_kind {  // a name of its own: src/nn/kinds/*.cpp compile as one unit

using ordered_json = nlohmann::ordered_json;

// The kernel fields, depth_multiplier (default 1), activation (any of Keras's: activations.hpp; the
// kernels compute relu and linear, the others run after them), use_bias, depthwise_initializer
// (without arguments) and bias_initializer (zeros only).
void read_depthwise_fields(KerasFields& f, LayerSpec& l) {
  read_kernel_fields(f, l);
  const nlohmann::json* dm = f.find("depth_multiplier");
  l.depth_multiplier = dm == nullptr ? 1 : f.integer_of("depth_multiplier", *dm, 1, kMaxUnits);
  read_activation(f, l, false);
  l.use_bias = f.boolean("use_bias", true);
  l.kernel_initializer = read_kernel_initializer(f, "depthwise_initializer");
  f.initializer("bias_initializer", Initializer::zeros, {Initializer::zeros});
  read_regularizers(f, l, {"depthwise_regularizer", "bias_regularizer"});
}

// The kernel fields as Keras 2 writes them (groups aside: Keras 3 refuses it here).
void write_kernel_fields(const LayerSpec& l, ordered_json& c) {
  c["kernel_size"] = pair_json(l.kernel);
  c["strides"] = pair_json(l.strides);
  c["padding"] = keras_name(l.padding);
  c["data_format"] = "channels_last";
  c["dilation_rate"] = pair_json(l.dilation);
  c["activation"] = activation_json(l);
  c["use_bias"] = l.use_bias;
  c["bias_initializer"] = initializer_json(Initializer::zeros);
  c["bias_regularizer"] = regularizer_json(l, "bias_regularizer");
  for (const char* key : {"activity_regularizer", "bias_constraint"}) c[key] = nullptr;
  c["depth_multiplier"] = l.depth_multiplier;
  c["depthwise_initializer"] = initializer_json(l.kernel_initializer);
}

// The output (h, w) and the depthwise step's in_c * depth_multiplier channels, within kMaxUnits.
Shape depthwise_shape(const LayerCheck& check, const LayerSpec& l, std::span<const Shape> inputs) {
  Shape out = window_geometry(check, l, inputs[0], true);
  check.count("depth_multiplier", l.depth_multiplier, kMaxUnits);
  if (std::size_t(out[2]) * std::size_t(l.depth_multiplier) > std::size_t(kMaxUnits))
    check.fail("depth_multiplier", std::to_string(l.depth_multiplier),
               "times " + std::to_string(out[2]) + " input channels is more than the limit of " +
                   std::to_string(kMaxUnits) + " channels");
  out[2] *= l.depth_multiplier;
  return out;
}

void describe_depthwise(const LayerSpec& l, std::ostream& out) {
  describe_window(l, out);
  out << " depth_multiplier " << l.depth_multiplier;
  describe_weighted(l, out);
}

// The depthwise Conv node "<layer>/<what>" on the current image: group = in, the kernel as ONNX's
// (in * dm, 1, kh, kw), Keras's (kh, kw, in, dm) rearranged; the bias (tensor `bias`) if asked.
void add_depthwise_conv(OnnxGraph& g, const PlannedLayer& layer, int bias, const std::string& what) {
  const std::string x = g.input_nchw();
  const TensorSpec& k = layer.tensor(0);
  const int kh = k.shape[0], kw = k.shape[1], in = k.shape[2], dm = k.shape[3];
  const std::span<const float> src = g.values(k);
  std::vector<float> w(k.size);
  for (int y = 0; y < kh; ++y)
    for (int x0 = 0; x0 < kw; ++x0)
      for (int c = 0; c < in; ++c)
        for (int m = 0; m < dm; ++m)
          w[((std::size_t(c) * dm + m) * kh + y) * kw + x0] = src[((std::size_t(y) * kw + x0) * in + c) * dm + m];
  std::vector<std::string> inputs{x, g.weights("depthwise_kernel", {in * dm, 1, kh, kw}, w, k)};
  if (bias >= 0) {
    const TensorSpec& b = layer.tensor(std::size_t(bias));
    inputs.push_back(g.weights("bias", {std::int64_t(b.size)}, g.values(b), b));
  }
  std::vector<OnnxAttribute> attributes = onnx_conv_attributes(layer.spec(), layer.plan());
  attributes.push_back({"group", std::int64_t{in}});
  g.node("Conv", inputs, attributes, what);
}

// ---- DepthwiseConv2D ----------------------------------------------------------------------------

void write_depthwise(const LayerSpec& l, const Shape*, ordered_json& c) {
  write_kernel_fields(l, c);
  c["depthwise_regularizer"] = regularizer_json(l, "depthwise_regularizer");
  c["depthwise_constraint"] = nullptr;
}

std::vector<WeightSpec> depthwise_weights(const LayerSpec& l, std::span<const Shape> inputs) {
  const int in = inputs[0][2];
  std::vector<WeightSpec> weights{{"depthwise_kernel", {l.kernel[0], l.kernel[1], in, l.depth_multiplier},
                                   l.kernel_initializer, true, {}, "depthwise_regularizer"}};
  if (l.use_bias)
    weights.push_back({"bias", {in * l.depth_multiplier}, Initializer::zeros, true, {}, "bias_regularizer"});
  return weights;
}

void depthwise_onnx(OnnxGraph& g, const PlannedLayer& layer) {
  add_depthwise_conv(g, layer, layer.spec().use_bias ? 1 : -1, "");
  add_onnx_activation(g, layer.spec());
}

template <typename T>
BuiltLayer<T> make_depthwise(const LayerBuild<T>& b) {
  const LayerSpec& l = b.layer.spec();
  return with_activation(own<T>(std::make_unique<DepthwiseConv2D<T>>(
                             conv_shape(l, b.layer.plan()), l.depth_multiplier, kernel_activation(l), b.max_batch,
                             b.need_dx, b.param(0), b.param(1), b.grad(0), b.grad(1))),
                         b);
}

// ---- SeparableConv2D ----------------------------------------------------------------------------

// tf.keras 2.x also writes Conv's kernel_initializer, which a SeparableConv2D never uses: read, ignored.
void read_separable(KerasFields& f, LayerSpec& l) {
  l.units = f.integer("filters", 1, kMaxUnits);
  read_depthwise_fields(f, l);
  l.pointwise_initializer = read_kernel_initializer(f, "pointwise_initializer");
  read_kernel_initializer(f, "kernel_initializer");
  read_regularizers(f, l, {"pointwise_regularizer"});
}

void write_separable(const LayerSpec& l, const Shape*, ordered_json& c) {
  c["filters"] = l.units;
  write_kernel_fields(l, c);
  c["pointwise_initializer"] = initializer_json(l.pointwise_initializer);
  c["depthwise_regularizer"] = regularizer_json(l, "depthwise_regularizer");
  c["pointwise_regularizer"] = regularizer_json(l, "pointwise_regularizer");
  for (const char* key : {"depthwise_constraint", "pointwise_constraint"}) c[key] = nullptr;
}

Shape separable_shape(const LayerCheck& check, const LayerSpec& l, std::span<const Shape> inputs) {
  Shape out = depthwise_shape(check, l, inputs);
  check.count("filters", l.units, kMaxUnits);
  out[2] = l.units;
  return out;
}

std::vector<WeightSpec> separable_weights(const LayerSpec& l, std::span<const Shape> inputs) {
  const int in = inputs[0][2], mid = in * l.depth_multiplier;
  std::vector<WeightSpec> weights{
      {"depthwise_kernel", {l.kernel[0], l.kernel[1], in, l.depth_multiplier}, l.kernel_initializer, true, {},
       "depthwise_regularizer"},
      {"pointwise_kernel", {1, 1, mid, l.units}, l.pointwise_initializer, true, {}, "pointwise_regularizer"}};
  if (l.use_bias) weights.push_back({"bias", {l.units}, Initializer::zeros, true, {}, "bias_regularizer"});
  return weights;
}

void describe_separable(const LayerSpec& l, std::ostream& out) {
  out << " " << l.units;
  describe_depthwise(l, out);
  out << " " << keras_name(l.pointwise_initializer);
}

// The depthwise Conv "<layer>/depthwise", then the pointwise 1x1 Conv "<layer>/pointwise" with the
// bias, its kernel as ONNX's (filters, in * dm, 1, 1).
void separable_onnx(OnnxGraph& g, const PlannedLayer& layer) {
  add_depthwise_conv(g, layer, -1, "depthwise");
  const TensorSpec& p = layer.tensor(1);  // Keras (1, 1, mid, filters)
  const int mid = p.shape[2], filters = p.shape[3];
  const std::span<const float> src = g.values(p);
  std::vector<float> w(p.size);
  for (int f = 0; f < filters; ++f)
    for (int c = 0; c < mid; ++c) w[std::size_t(f) * mid + c] = src[std::size_t(c) * filters + f];
  std::vector<std::string> inputs{g.input(), g.weights("pointwise_kernel", {filters, mid, 1, 1}, w, p)};
  if (layer.spec().use_bias) {
    const TensorSpec& b = layer.tensor(2);
    inputs.push_back(g.weights("bias", {std::int64_t(b.size)}, g.values(b), b));
  }
  g.node("Conv", inputs, {{"kernel_shape", OnnxDims{1, 1}}}, "pointwise");
  add_onnx_activation(g, layer.spec());
}

template <typename T>
BuiltLayer<T> make_separable(const LayerBuild<T>& b) {
  const LayerSpec& l = b.layer.spec();
  return with_activation(own<T>(std::make_unique<SeparableConv2D<T>>(
                             conv_shape(l, b.layer.plan()), l.depth_multiplier, kernel_activation(l), b.max_batch,
                             b.need_dx, b.param(0), b.param(1), b.param(2), b.grad(0), b.grad(1), b.grad(2))),
                         b);
}

}  // namespace depthwise_kind
}  // namespace

extern const LayerKindRow depthwise_conv2d_row = {.kind = LayerKind::depthwise_conv2d,
                                                  .keras_class = "DepthwiseConv2D",
                                                  .base_name = "depthwise_conv2d",
                                                  .read = depthwise_kind::read_depthwise_fields,
                                                  .write = depthwise_kind::write_depthwise,
                                                  .shape = depthwise_kind::depthwise_shape,
                                                  .make_float = depthwise_kind::make_depthwise<float>,
                                                  .make_double = depthwise_kind::make_depthwise<double>,
                                                  .weights = depthwise_kind::depthwise_weights,
                                                  .describe = depthwise_kind::describe_depthwise,
                                                  .onnx = depthwise_kind::depthwise_onnx,
                                                  .width_field = "depth_multiplier",
                                                  .width_value = &LayerSpec::depth_multiplier};

extern const LayerKindRow separable_conv2d_row = {.kind = LayerKind::separable_conv2d,
                                                  .keras_class = "SeparableConv2D",
                                                  .base_name = "separable_conv2d",
                                                  .read = depthwise_kind::read_separable,
                                                  .write = depthwise_kind::write_separable,
                                                  .shape = depthwise_kind::separable_shape,
                                                  .make_float = depthwise_kind::make_separable<float>,
                                                  .make_double = depthwise_kind::make_separable<double>,
                                                  .weights = depthwise_kind::separable_weights,
                                                  .describe = depthwise_kind::describe_separable,
                                                  .onnx = depthwise_kind::separable_onnx,
                                                  .width_field = "filters"};

}  // namespace fmnist
