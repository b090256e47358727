// Conv2D (docs/models.md: Models): Keras's cross-correlation with a (kh, kw, in, out) kernel, any
// dilation_rate, a bias and an activation (relu in the kernel; others after it); undilated and with
// relu or linear, fused with a MaxPooling2D right after it into Conv2DPool. Its row of the layer
// registry; the kernels are src/nn/conv2d.cpp and src/nn/conv2d_pool.cpp.
#include <ostream>

#include "../keras_fields.hpp"
#include "activations.hpp"
#include "weighted.hpp"
#include "window.hpp"

namespace fmnist {
namespace {
namespace conv2d_kind {  // a name of its own: src/nn/kinds/*.cpp compile as one unit

void read(KerasFields& f, LayerSpec& l) {
  read_window_fields(f, l, true);
  read_weighted_fields(f, l);
}

void write(const LayerSpec& l, const Shape*, nlohmann::ordered_json& c) {
  c["filters"] = l.units;
  c["kernel_size"] = pair_json(l.kernel);
  c["strides"] = pair_json(l.strides);
  c["padding"] = keras_name(l.padding);
  c["data_format"] = "channels_last";
  c["dilation_rate"] = pair_json(l.dilation);
  write_weighted_fields(l, c);
}

Shape shape(const LayerCheck& check, const LayerSpec& l, std::span<const Shape> inputs) {
  return window_output_shape(check, l, inputs, true);
}

std::vector<WeightSpec> weights(const LayerSpec& l, std::span<const Shape> inputs) {
  return kernel_and_bias(l, {l.kernel[0], l.kernel[1], inputs[0][2], l.units});
}

void describe(const LayerSpec& l, std::ostream& out) {
  out << " " << l.units;
  describe_window(l, out);
  describe_weighted(l, out);
}

// Conv on the NCHW image, the kernel rearranged as ONNX's (out, in, kh, kw).
void onnx(OnnxGraph& g, const PlannedLayer& layer) {
  const std::string x = g.input_nchw();
  const TensorSpec& k = layer.tensor(0);  // Keras (kh, kw, in, out)
  const int kh = k.shape[0], kw = k.shape[1], in = k.shape[2], out = k.shape[3];
  const std::span<const float> src = g.values(k);
  std::vector<float> w(k.size);  // ONNX (out, in, kh, kw)
  for (int o = 0; o < out; ++o)
    for (int c = 0; c < in; ++c)
      for (int y = 0; y < kh; ++y)
        for (int x = 0; x < kw; ++x)
          w[((std::size_t(o) * in + c) * kh + y) * kw + x] = src[((std::size_t(y) * kw + x) * in + c) * out + o];
  std::vector<std::string> inputs{x, g.weights("kernel", {out, in, kh, kw}, w, k)};
  add_onnx_bias(g, layer, inputs);
  g.node("Conv", inputs, onnx_conv_attributes(layer.spec(), layer.plan()));
  add_onnx_activation(g, layer.spec());
}

// Conv2D, or Conv2DPool computing the MaxPooling2D after it too (an undilated kernel that computes
// the activation: relu or linear); an activation the kernel does not fuse runs after it.
template <typename T>
BuiltLayer<T> make(const LayerBuild<T>& b) {
  const LayerSpec& l = b.layer.spec();
  const ConvShape conv = conv_shape(l, b.layer.plan());
  const LayerSpec* next = b.next();
  const bool dilated = conv.dilation_h != 1 || conv.dilation_w != 1;
  if (next != nullptr && next->kind == LayerKind::max_pooling2d && !dilated && !runs_after_kernel(l)) {
    const ConvShape pool = conv_shape(*next, b.layer.model.layers[b.layer.index + 1]);
    return own<T>(std::make_unique<Conv2DPool<T>>(conv, pool, kernel_activation(l), b.max_batch, b.need_dx, b.param(0),
                                                  b.param(1), b.grad(0), b.grad(1)),
                  true);
  }
  return with_activation(own<T>(std::make_unique<Conv2D<T>>(conv, kernel_activation(l), b.max_batch, b.need_dx,
                                                            b.param(0), b.param(1), b.grad(0), b.grad(1))),
                         b);
}

}  // namespace conv2d_kind
}  // namespace

extern const LayerKindRow conv2d_row = {.kind = LayerKind::conv2d,
                                        .keras_class = "Conv2D",
                                        .base_name = "conv2d",
                                        FMNIST_KIND_FUNCTIONS(conv2d_kind, ),
                                        .weights = conv2d_kind::weights,
                                        .describe = conv2d_kind::describe,
                                        .onnx = conv2d_kind::onnx,
                                        .width_field = "filters"};

}  // namespace fmnist
