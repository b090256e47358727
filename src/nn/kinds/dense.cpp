// Dense (docs/models.md: Models): y = x . kernel + bias on a flat input, kernel (in, out), an
// activation (relu in the kernel; others after it). Its row of the layer registry; the kernel is
// src/nn/dense.cpp. In ONNX a Gemm with the kernel stored transposed (transB=1, as OpenCV's
// importer needs).
#include <ostream>

#include "../keras_fields.hpp"
#include "activations.hpp"
#include "fmnist/text.hpp"
#include "weighted.hpp"

namespace fmnist {
namespace {
namespace dense_kind {  // a name of its own: src/nn/kinds/*.cpp compile as one unit

void read(KerasFields& f, LayerSpec& l) {
  l.units = f.integer("units", 1, kMaxUnits);
  read_weighted_fields(f, l);
}

void write(const LayerSpec& l, const Shape*, nlohmann::ordered_json& c) {
  c["units"] = l.units;
  write_weighted_fields(l, c);
}

Shape shape(const LayerCheck& check, const LayerSpec& l, std::span<const Shape> inputs) {
  if (inputs[0].size() != 1)
    check.fail("units", std::to_string(l.units),
               "needs a flat input, but the input is " + shape_text(inputs[0]) + " (add a Flatten before it)");
  check.count("units", l.units, kMaxUnits);
  return {l.units};
}

std::vector<WeightSpec> weights(const LayerSpec& l, std::span<const Shape> inputs) {
  return kernel_and_bias(l, {inputs[0][0], l.units});
}

void describe(const LayerSpec& l, std::ostream& out) {
  out << " " << l.units;
  describe_weighted(l, out);
}

void onnx(OnnxGraph& g, const PlannedLayer& layer) {
  const std::string x = g.input();
  const TensorSpec& k = layer.tensor(0);  // Keras (in, out)
  const int in = k.shape[0], out = k.shape[1];
  const std::span<const float> src = g.values(k);
  std::vector<float> w(k.size);  // (out, in): Gemm's B with transB=1
  for (int o = 0; o < out; ++o)
    for (int c = 0; c < in; ++c) w[std::size_t(o) * in + c] = src[std::size_t(c) * out + o];
  std::vector<std::string> inputs{x, g.weights("kernel", {out, in}, w, k)};
  add_onnx_bias(g, layer, inputs);
  g.node("Gemm", inputs, {{"transB", std::int64_t{1}}});
  add_onnx_activation(g, layer.spec());
}

template <typename T>
BuiltLayer<T> make(const LayerBuild<T>& b) {
  const LayerSpec& l = b.layer.spec();
  return with_activation(own<T>(std::make_unique<Dense<T>>(b.layer.plan().input_shape[0], l.units, kernel_activation(l),
                                                           b.param(0), b.param(1), b.grad(0), b.grad(1))),
                         b);
}

}  // namespace dense_kind
}  // namespace

extern const LayerKindRow dense_row = {.kind = LayerKind::dense,
                                       .keras_class = "Dense",
                                       .base_name = "dense",
                                       FMNIST_KIND_FUNCTIONS(dense_kind, ),
                                       .weights = dense_kind::weights,
                                       .describe = dense_kind::describe,
                                       .onnx = dense_kind::onnx,
                                       .width_field = "units"};

}  // namespace fmnist
