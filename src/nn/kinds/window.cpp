// The window layers' shared rules (window.hpp): one place for the geometry that Conv2D and the
// two poolings read, check, describe and export alike.
#include "window.hpp"

#include <algorithm>
#include <ostream>

#include "../keras_fields.hpp"
#include "fmnist/text.hpp"

namespace fmnist {

void read_window_fields(KerasFields& f, LayerSpec& l, bool conv) {
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
    f.only("dilation_rate", {1, nlohmann::json::array({1, 1})}, "only 1");
    f.only("groups", {1}, "only 1");
  }
}

Shape window_output_shape(const LayerCheck& check, const LayerSpec& l, std::span<const Shape> inputs, bool conv) {
  const Shape& in = inputs[0];
  const std::string size_field = conv ? "kernel_size" : "pool_size";
  std::string size_text = "[";  // (built in steps: GCC 12 warns falsely about "[" + std::string)
  size_text += std::to_string(l.kernel[0]) + ", " + std::to_string(l.kernel[1]) + "]";
  if (in.size() != 3)
    check.fail(size_field, size_text, "needs an input of (height, width, channels), but the input is " + shape_text(in));
  for (int a = 0; a < 2; ++a) {
    check.count(size_field, l.kernel[a], kMaxWindow);
    check.count("strides", l.strides[a], kMaxWindow);
  }
  if (l.kernel[0] > in[0] || l.kernel[1] > in[1])
    check.fail(size_field, size_text, "is larger than the input " + shape_text(in));
  int channels = in[2];
  if (conv) {
    check.count("filters", l.units, kMaxUnits);
    const std::size_t patch = std::size_t(l.kernel[0]) * l.kernel[1] * in[2];
    if (patch > kMaxPatch)
      check.fail(size_field, size_text,
                 "times " + std::to_string(in[2]) + " input channels is more than the limit of " + std::to_string(kMaxPatch));
    channels = l.units;
  }
  return {window_output_size(in[0], l.kernel[0], l.strides[0], l.padding),
          window_output_size(in[1], l.kernel[1], l.strides[1], l.padding), channels};
}

void describe_window(const LayerSpec& l, std::ostream& out) {
  out << " " << l.kernel[0] << "x" << l.kernel[1] << " stride " << l.strides[0] << "x" << l.strides[1] << " "
      << keras_name(l.padding);
}

ConvShape conv_shape(const LayerSpec& l, const LayerPlan& plan) {
  ConvShape s;
  s.in_h = plan.input_shape[0];
  s.in_w = plan.input_shape[1];
  s.in_c = plan.input_shape[2];
  s.out_c = plan.output_shape[2];
  s.kernel_h = l.kernel[0];
  s.kernel_w = l.kernel[1];
  s.stride_h = l.strides[0];
  s.stride_w = l.strides[1];
  s.padding = l.padding;
  return s;
}

std::vector<OnnxAttribute> onnx_window_attributes(const LayerSpec& l, const LayerPlan& plan) {
  OnnxDims begin, end;  // with `valid` both are 0, since (out - 1) * s + k <= n there
  for (int a = 0; a < 2; ++a) {
    const int n = plan.input_shape[a], k = l.kernel[a], s = l.strides[a], out = plan.output_shape[a];
    const int before = window_pad_before(n, k, s, l.padding);
    begin.push_back(before);
    end.push_back(std::max((out - 1) * s + k - n, 0) - before);
  }
  return {{"kernel_shape", OnnxDims{l.kernel[0], l.kernel[1]}},
          {"strides", OnnxDims{l.strides[0], l.strides[1]}},
          {"pads", OnnxDims{begin[0], begin[1], end[0], end[1]}}};
}

}  // namespace fmnist
