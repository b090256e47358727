// The window layers' shared rules (Conv2D, DepthwiseConv2D, SeparableConv2D, MaxPooling2D,
// AveragePooling2D): their geometry fields in Keras JSON, the output shape as TensorFlow computes it
// (a dilated kernel spans (kernel - 1) * dilation + 1 pixels), the describe text, the kernels'
// ConvShape and TensorFlow's padding as ONNX's explicit pads.
#pragma once

#include <iosfwd>

#include "../registry.hpp"
#include "fmnist/onnx_graph.hpp"

namespace fmnist {

// Reads Conv2D's filters and kernel fields (conv: read_kernel_fields), or a pooling's pool_size
// (default 2), strides (default pool_size), padding, data_format.
void read_window_fields(KerasFields& f, LayerSpec& l, bool conv);
// Reads a convolution's kernel_size, strides, padding, data_format, dilation_rate and groups (only 1).
void read_kernel_fields(KerasFields& f, LayerSpec& l);

// The output (h, w) of a window over the input (h, w, c), and the input's channels: refuses a
// non-image input, sizes out of range, a kernel (conv: dilated) larger than the input, and (conv)
// a dilation_rate above 1 with strides above 1, which Keras refuses too.
Shape window_geometry(const LayerCheck& check, const LayerSpec& l, const Shape& in, bool conv);

// The output (h, w, c) of a window over the input `in` (h, w, c); conv: c is the filters, else
// the input's channels. window_geometry's refusals, and a Conv2D patch (kh * kw * in_c) beyond kMaxPatch.
Shape window_output_shape(const LayerCheck& check, const LayerSpec& l, std::span<const Shape> inputs, bool conv);

// " 3x3 stride 1x1 valid", and " dilation 2x2" after it when the kernel is dilated.
void describe_window(const LayerSpec& l, std::ostream& out);

// The geometry the kernels take, from the planned layer.
ConvShape conv_shape(const LayerSpec& l, const LayerPlan& plan);

// kernel_shape, strides and pads (begin h, begin w, end h, end w) of an ONNX Conv or pooling node,
// TensorFlow's padding made explicit: the odd extra pixel after (for the dilated span).
std::vector<OnnxAttribute> onnx_window_attributes(const LayerSpec& l, const LayerPlan& plan);
// Those of a convolution: the same, and its dilations.
std::vector<OnnxAttribute> onnx_conv_attributes(const LayerSpec& l, const LayerPlan& plan);

}  // namespace fmnist
