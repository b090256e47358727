// The window layers' shared rules (window.hpp): one place for the geometry that the convolutions and
// the two poolings read, check, describe and export alike.
#include "window.hpp"

#include <algorithm>
#include <ostream>

#include "../keras_fields.hpp"
#include "fmnist/text.hpp"

namespace fmnist {

namespace {
namespace window_kind {  // a name of its own: src/nn/kinds/*.cpp compile as one unit

// "[3, 3]": a pair as the JSON has it (built in steps: GCC 12 warns falsely about "[" + std::string).
std::string pair_text(const std::array<int, 2>& p) {
  std::string text = "[";
  text += std::to_string(p[0]) + ", " + std::to_string(p[1]) + "]";
  return text;
}

// The pixels a kernel of k taps dilation d apart covers.
int span(int k, int d) { return (k - 1) * d + 1; }

}  // namespace window_kind
}  // namespace

void read_window_fields(KerasFields& f, LayerSpec& l, bool conv) {
  if (conv) {
    l.units = f.integer("filters", 1, kMaxUnits);
    read_kernel_fields(f, l);
    return;
  }
  const std::array<int, 2> two{2, 2};
  l.kernel = f.pair("pool_size", 1, kMaxWindow, &two);
  l.strides = f.pair("strides", 1, kMaxWindow, &l.kernel);
  l.padding = f.choice("padding", {Padding::valid, Padding::same}, Padding::valid);
  f.only("data_format", {"channels_last"}, "only channels_last");
}

void read_kernel_fields(KerasFields& f, LayerSpec& l) {
  const std::array<int, 2> one{1, 1};
  l.kernel = f.pair("kernel_size", 1, kMaxWindow, nullptr);
  l.strides = f.pair("strides", 1, kMaxWindow, &one);
  l.padding = f.choice("padding", {Padding::valid, Padding::same}, Padding::valid);
  f.only("data_format", {"channels_last"}, "only channels_last");
  l.dilation = f.pair("dilation_rate", 1, kMaxWindow, &one);
  f.only("groups", {1}, "only 1");
}

Shape window_geometry(const LayerCheck& check, const LayerSpec& l, const Shape& in, bool conv) {
  const std::string size_field = conv ? "kernel_size" : "pool_size";
  const std::string size_text = window_kind::pair_text(l.kernel);
  if (in.size() != 3)
    check.fail(size_field, size_text, "needs an input of (height, width, channels), but the input is " + shape_text(in));
  for (int a = 0; a < 2; ++a) {
    check.count(size_field, l.kernel[a], kMaxWindow);
    check.count("strides", l.strides[a], kMaxWindow);
    check.count("dilation_rate", l.dilation[a], conv ? kMaxWindow : 1);
  }
  const bool dilated = l.dilation[0] > 1 || l.dilation[1] > 1;
  if (dilated && (l.strides[0] > 1 || l.strides[1] > 1))
    check.fail("dilation_rate", window_kind::pair_text(l.dilation),
               "is not supported with strides " + window_kind::pair_text(l.strides) +
                   " (Keras refuses strides above 1 with a dilation_rate above 1)");
  const int span_h = window_kind::span(l.kernel[0], l.dilation[0]);
  const int span_w = window_kind::span(l.kernel[1], l.dilation[1]);
  if (span_h > in[0] || span_w > in[1])
    check.fail(size_field, size_text,
               (dilated ? "dilated by " + window_kind::pair_text(l.dilation) + " spans " + std::to_string(span_h) + "x" +
                              std::to_string(span_w) + " pixels, more than"
                        : std::string("is larger than")) +
                   " the input " + shape_text(in));
  return {window_output_size(in[0], span_h, l.strides[0], l.padding),
          window_output_size(in[1], span_w, l.strides[1], l.padding), in[2]};
}

Shape window_output_shape(const LayerCheck& check, const LayerSpec& l, std::span<const Shape> inputs, bool conv) {
  const Shape& in = inputs[0];
  Shape out = window_geometry(check, l, in, conv);
  if (conv) {
    check.count("filters", l.units, kMaxUnits);
    const std::size_t patch = std::size_t(l.kernel[0]) * l.kernel[1] * in[2];
    if (patch > kMaxPatch)
      check.fail("kernel_size", window_kind::pair_text(l.kernel),
                 "times " + std::to_string(in[2]) + " input channels is more than the limit of " + std::to_string(kMaxPatch));
    out[2] = l.units;
  }
  return out;
}

void describe_window(const LayerSpec& l, std::ostream& out) {
  out << " " << l.kernel[0] << "x" << l.kernel[1] << " stride " << l.strides[0] << "x" << l.strides[1] << " "
      << keras_name(l.padding);
  if (l.dilation[0] != 1 || l.dilation[1] != 1) out << " dilation " << l.dilation[0] << "x" << l.dilation[1];
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
  s.dilation_h = l.dilation[0];
  s.dilation_w = l.dilation[1];
  return s;
}

std::vector<OnnxAttribute> onnx_window_attributes(const LayerSpec& l, const LayerPlan& plan) {
  OnnxDims begin, end;  // with `valid` both are 0, since (out - 1) * s + k <= n there
  for (int a = 0; a < 2; ++a) {
    const int n = plan.input_shape[a], k = window_kind::span(l.kernel[a], l.dilation[a]);
    const int s = l.strides[a], out = plan.output_shape[a];
    const int before = window_pad_before(n, k, s, l.padding);
    begin.push_back(before);
    end.push_back(std::max((out - 1) * s + k - n, 0) - before);
  }
  return {{"kernel_shape", OnnxDims{l.kernel[0], l.kernel[1]}},
          {"strides", OnnxDims{l.strides[0], l.strides[1]}},
          {"pads", OnnxDims{begin[0], begin[1], end[0], end[1]}}};
}

std::vector<OnnxAttribute> onnx_conv_attributes(const LayerSpec& l, const LayerPlan& plan) {
  std::vector<OnnxAttribute> attributes = onnx_window_attributes(l, plan);
  attributes.push_back({"dilations", OnnxDims{l.dilation[0], l.dilation[1]}});
  return attributes;
}

}  // namespace fmnist
