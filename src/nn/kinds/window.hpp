// The window layers' shared rules (Conv2D, MaxPooling2D, AveragePooling2D): their geometry fields
// in Keras JSON, the output shape as TensorFlow computes it, the describe text, the kernels'
// ConvShape and TensorFlow's padding as ONNX's explicit pads.
#pragma once

#include <iosfwd>

#include "../registry.hpp"
#include "fmnist/onnx_graph.hpp"

namespace fmnist {

// Reads Conv2D's filters, kernel_size, strides, padding, data_format, dilation_rate and groups
// (conv), or a pooling's pool_size (default 2), strides (default pool_size), padding, data_format.
void read_window_fields(KerasFields& f, LayerSpec& l, bool conv);

// The output (h, w, c) of a window over the input `in` (h, w, c); conv: c is the filters, else
// the input's channels. Refuses a non-image input, a window larger than the input, sizes out of
// range, and a Conv2D patch (kh * kw * in_c) beyond kMaxPatch.
Shape window_output_shape(const LayerCheck& check, const LayerSpec& l, std::span<const Shape> inputs, bool conv);

// " 3x3 stride 1x1 valid".
void describe_window(const LayerSpec& l, std::ostream& out);

// The geometry the kernels take, from the planned layer.
ConvShape conv_shape(const LayerSpec& l, const LayerPlan& plan);

// kernel_shape, strides and pads (begin h, begin w, end h, end w) of an ONNX Conv or pooling node,
// TensorFlow's padding made explicit: the odd extra pixel after.
std::vector<OnnxAttribute> onnx_window_attributes(const LayerSpec& l, const LayerPlan& plan);

}  // namespace fmnist
