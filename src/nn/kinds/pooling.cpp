// MaxPooling2D and AveragePooling2D (docs/models.md: Models): any window, stride and padding;
// "same" pads with -infinity for the max and divides by the real pixels for the average, as
// TensorFlow does. Their rows of the layer registry; the kernels are src/nn/max_pool2d.cpp and
// src/nn/avg_pool2d.cpp (a MaxPooling2D after a Conv2D is computed by Conv2DPool: conv2d.cpp).
#include <ostream>

#include "../keras_fields.hpp"
#include "window.hpp"

namespace fmnist {
namespace {
namespace pooling_kind {  // a name of its own: src/nn/kinds/*.cpp compile as one unit

void read(KerasFields& f, LayerSpec& l) { read_window_fields(f, l, false); }

void write(const LayerSpec& l, const Shape*, nlohmann::ordered_json& c) {
  c["pool_size"] = pair_json(l.kernel);
  c["padding"] = keras_name(l.padding);
  c["strides"] = pair_json(l.strides);
  c["data_format"] = "channels_last";
}

Shape shape(const LayerCheck& check, const LayerSpec& l, std::span<const Shape> inputs) {
  return window_output_shape(check, l, inputs, false);
}

void max_onnx(OnnxGraph& g, const PlannedLayer& layer) {
  g.node("MaxPool", {g.input_nchw()}, onnx_window_attributes(layer.spec(), layer.plan()));
}

void average_onnx(OnnxGraph& g, const PlannedLayer& layer) {
  std::vector<OnnxAttribute> attributes = onnx_window_attributes(layer.spec(), layer.plan());
  attributes.push_back({"count_include_pad", std::int64_t{0}});  // divide by the real pixels, as TensorFlow
  g.node("AveragePool", {g.input_nchw()}, attributes);
}

template <typename T>
BuiltLayer<T> make_max(const LayerBuild<T>& b) {
  return own<T>(std::make_unique<MaxPool2D<T>>(conv_shape(b.layer.spec(), b.layer.plan()), b.max_batch));
}

template <typename T>
BuiltLayer<T> make_average(const LayerBuild<T>& b) {
  return own<T>(std::make_unique<AvgPool2D<T>>(conv_shape(b.layer.spec(), b.layer.plan())));
}

}  // namespace pooling_kind
}  // namespace

extern const LayerKindRow max_pooling2d_row = {.kind = LayerKind::max_pooling2d,
                                               .keras_class = "MaxPooling2D",
                                               .base_name = "max_pooling2d",
                                               .read = pooling_kind::read,
                                               .write = pooling_kind::write,
                                               .shape = pooling_kind::shape,
                                               .make_float = pooling_kind::make_max<float>,
                                               .make_double = pooling_kind::make_max<double>,
                                               .describe = describe_window,
                                               .onnx = pooling_kind::max_onnx};

extern const LayerKindRow average_pooling2d_row = {.kind = LayerKind::average_pooling2d,
                                                   .keras_class = "AveragePooling2D",
                                                   .base_name = "average_pooling2d",
                                                   .read = pooling_kind::read,
                                                   .write = pooling_kind::write,
                                                   .shape = pooling_kind::shape,
                                                   .make_float = pooling_kind::make_average<float>,
                                                   .make_double = pooling_kind::make_average<double>,
                                                   .describe = describe_window,
                                                   .onnx = pooling_kind::average_onnx};

}  // namespace fmnist
