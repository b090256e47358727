// A layer's ONNX nodes, said without ONNX's headers: each layer kind's row in the registry
// (src/nn/kinds/) adds its nodes through OnnxGraph, and src/export implements OnnxGraph with
// ONNX's protobuf classes (docs/onnx.md). So a new kind brings its ONNX nodes in its own file, and
// src/export stays the only code that sees ONNX or protobuf.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "fmnist/model_spec.hpp"

namespace fmnist {

using OnnxDims = std::vector<std::int64_t>;

// A node attribute: an integer (INT), a float (FLOAT) or a list of integers (INTS).
struct OnnxAttribute {
  std::string name;
  std::variant<std::int64_t, float, OnnxDims> value;
};

// The graph under construction, one layer at a time, in the plan's order. The tensors a layer adds
// are named "<layer>/<what>" (a layer name has no '/'; a second node of one operator in a layer
// gets "_1", ...). The current tensor is the layer's (first) input until the layer adds a node,
// then that node's output: what the layer leaves is its output, which the layers after it take.
// Each tensor is an NCHW image or as the plan has it (NHWC, or flat), and is transposed only
// where a layer needs the other layout (once per tensor and layout).
class OnnxGraph {
 public:
  virtual ~OnnxGraph() = default;

  // The current tensor, in the layout the layer before left it.
  virtual std::string input() = 0;
  // Every input of the layer (a merge has several) in the call's order, in one layout: NCHW when
  // any of them is an NCHW image, else as the plan has them; the first is then the current tensor.
  virtual std::vector<std::string> inputs() = 0;
  // The channels' axis of the current tensor: 1 for an NCHW image or a flat (N, C), 3 for NHWC.
  virtual std::int64_t channel_axis() const = 0;
  // The current tensor as an NCHW image (a Transpose "<layer>/Transpose" if it is NHWC now).
  virtual std::string input_nchw() = 0;
  // The current tensor as the plan has it: an NCHW image is transposed back to NHWC
  // ("<layer>/Transpose"), so that a Flatten after it reads Keras's order (unless the export's
  // option keras_flatten_order is off: the tests' negative control).
  virtual std::string input_nhwc() = 0;

  // Keras's values of one of the model's weight tensors, as the arena holds them.
  virtual std::span<const float> values(const TensorSpec& tensor) const = 0;
  // Adds the initializer "<layer>/<what>" of `dims` holding `values` (float32), documented as
  // Keras's tensor `keras`; returns its name.
  virtual std::string weights(const std::string& what, const OnnxDims& dims, std::span<const float> values,
                              const TensorSpec& keras) = 0;
  // Adds the initializer "<layer>/<what>", a constant of the layer's nodes rather than a Keras
  // weight: a float32 scalar (a Clip's bound, a factor), or a list of int64 (a Pad's pads).
  // Returns its name ("<layer>/<what>_1", ... if the layer has one of that name already).
  virtual std::string constant(const std::string& what, float value) = 0;
  virtual std::string constant(const std::string& what, const OnnxDims& values) = 0;
  // Adds the node "<layer>/<what>" (what: op when empty; "<layer>/<what>_1", ... for the layer's
  // next nodes of that name) of operator `op` on `inputs`; its output becomes the current tensor,
  // in the current layout. Returns its name.
  virtual std::string node(const std::string& op, const std::vector<std::string>& inputs,
                           const std::vector<OnnxAttribute>& attributes = {}, const std::string& what = "") = 0;
  // Applies a Keras activation to the current tensor: linear adds nothing, relu a Relu node,
  // softmax (on the last layer only) the model's output and its input as the logits.
  virtual void activation(Activation activation) = 0;
};

// Adds layer `layer` of `plan` to `graph`, as its kind's registry row says (src/nn/registry.cpp).
void add_onnx_nodes(OnnxGraph& graph, const ModelPlan& plan, std::size_t layer);

}  // namespace fmnist
