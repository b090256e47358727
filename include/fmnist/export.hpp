// Exporting a trained model to ONNX (docs/onnx.md), for ONNX Runtime, OpenCV's dnn,
// TensorRT and serving stacks: the graph is derived from the spec's plan, built with ONNX's own
// protobuf classes, checked by ONNX's checker and shape inference, and written atomically.
// No ONNX or protobuf type crosses this header: src/export is the only module that sees them.
#pragma once

#include <span>
#include <string>

#include "fmnist/model_spec.hpp"

namespace fmnist {

// The graph's fixed names and version (docs/onnx.md).
inline constexpr const char* kOnnxInput = "input";    // float32 (N, h, w, c), NHWC, pixels in [0, 1]
inline constexpr const char* kOnnxOutput = "output";  // (N, classes): the model's output as Keras computes it
inline constexpr const char* kOnnxLogits = "logits";  // (N, classes): the logits before a final softmax
inline constexpr int kOnnxOpset = 13;

struct OnnxExportOptions {
  // Transpose back to NHWC before Flatten, so the flat order is Keras's. Only the tests turn it
  // off, to build a negative control that ONNX's checker accepts but that computes nonsense.
  bool keras_flatten_order = true;
};

// The model with these weights (arena order of plan_model(spec).tensors) as the bytes of a
// checked ONNX ModelProto. Throws Error(Exit::checkpoint) when the weights do not fit the model,
// Error(Exit::internal) when ONNX's checker or shape inference rejects the graph (a bug).
std::string onnx_model(const ModelSpec& spec, std::span<const float> weights, const OnnxExportOptions& options = {});

// Writes onnx_model(...) to `path` atomically (an unwritable path: Error(Exit::checkpoint)) and
// returns a one-line description of what was written, for the user.
std::string export_onnx(const ModelSpec& spec, std::span<const float> weights, const std::string& path,
                        const OnnxExportOptions& options = {});

}  // namespace fmnist
