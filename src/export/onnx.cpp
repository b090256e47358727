// The ONNX export (docs/onnx.md): one pass over the spec's plan emits an opset-13
// graph with ONNX's own protobuf classes: NHWC input, a Transpose to NCHW before the first Conv or
// pooling, TensorFlow's padding as explicit (asymmetric) pads, average pooling over real pixels
// only, a Transpose back to NHWC before Flatten (Keras's flat order), Gemm with the kernel stored
// transposed (transB=1, as OpenCV's importer needs), Relu, BatchNormalization (inference form),
// and Softmax. The only ONNX code.
#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "fmnist/atomic_file.hpp"
#include "fmnist/error.hpp"
#include "fmnist/export.hpp"
#include "fmnist/text.hpp"

namespace fmnist {
namespace {

constexpr std::int64_t kIrVersion = 8;  // ONNX 1.12's IR; opset 13 needs at least 7
static_assert(std::endian::native == std::endian::little, "ONNX's raw_data is little-endian, as the weights here");
using Dims = std::vector<std::int64_t>;

void set_ints(onnx::NodeProto& node, const char* name, const Dims& values) {
  onnx::AttributeProto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (std::int64_t v : values) a->add_ints(v);
}

void set_float(onnx::NodeProto& node, const char* name, float value) {
  onnx::AttributeProto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(value);
}

void set_int(onnx::NodeProto& node, const char* name, std::int64_t value) {
  onnx::AttributeProto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(value);
}

// A float32 tensor of shape `dims` whose first dimension is the dynamic batch "N".
void set_batched_type(onnx::ValueInfoProto& value, const std::string& name, const Dims& dims) {
  value.set_name(name);
  onnx::TypeProto_Tensor* tensor = value.mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(onnx::TensorProto::FLOAT);
  tensor->mutable_shape()->add_dim()->set_dim_param("N");
  for (std::int64_t d : dims) tensor->mutable_shape()->add_dim()->set_dim_value(d);
}

// Pads (begin h, begin w, end h, end w) of a window layer as TensorFlow places them: the odd
// extra pixel after; with `valid` both are 0, since (out - 1)·s + k <= n there.
Dims window_pads(const LayerSpec& l, const LayerPlan& lp) {
  Dims begin, end;
  for (int a = 0; a < 2; ++a) {
    const int n = lp.input_shape[a], k = l.kernel[a], s = l.strides[a], out = lp.output_shape[a];
    const int before = window_pad_before(n, k, s, l.padding);
    begin.push_back(before);
    end.push_back(std::max((out - 1) * s + k - n, 0) - before);
  }
  return {begin[0], begin[1], end[0], end[1]};
}

// Emits the graph one layer at a time. Tensors are named "<layer>/<Op>" (a layer name has no
// '/'), so none can clash with "input", "output" or "logits"; weights "<layer>/kernel", "/bias".
class Emitter {
 public:
  Emitter(const ModelPlan& plan, std::span<const float> weights, const OnnxExportOptions& options,
          onnx::GraphProto& graph)
      : plan_(plan), weights_(weights), options_(options), graph_(graph) {}

  void run() {
    for (std::size_t i = 0; i < plan_.layers.size(); ++i) {
      layer(i);
      layer_outputs_.push_back({x_, nchw_});
    }
    if (logits_.empty()) {  // no final softmax: the output is the logits themselves
      logits_ = x_;
      add("Identity", kOnnxOutput, {x_});
    }
    rename(logits_, kOnnxLogits);
    for (auto& output : layer_outputs_) {
      if (output.first == logits_) output.first = kOnnxLogits;
    }
  }

  // The tensor that holds each layer's output, and whether it is NCHW (an image) or as planned.
  const std::vector<std::pair<std::string, bool>>& layer_outputs() const { return layer_outputs_; }

 private:
  onnx::NodeProto& add(const std::string& op, const std::string& output, const std::vector<std::string>& inputs) {
    onnx::NodeProto* node = graph_.add_node();
    node->set_op_type(op);
    node->set_name(output);
    for (const std::string& in : inputs) node->add_input(in);
    node->add_output(output);
    return *node;
  }

  std::string add_weights(const std::string& name, const Dims& dims, const std::vector<float>& values,
                          const TensorSpec& keras) {
    onnx::TensorProto* t = graph_.add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (std::int64_t d : dims) t->add_dims(d);
    t->set_raw_data(values.data(), values.size() * sizeof(float));  // float32, little-endian
    t->set_doc_string("Keras " + keras.name + " " + shape_text(keras.shape));
    return name;
  }

  const float* keras_values(const TensorSpec& t) const { return weights_.data() + t.offset; }

  // The bias of layer i, when it has one, as an input of its node.
  void add_bias(std::size_t i, std::vector<std::string>& inputs) {
    const LayerPlan& lp = plan_.layers[i];
    if (lp.tensors.size() < 2) return;
    const TensorSpec& b = plan_.tensors[lp.tensors[1]];
    const float* v = keras_values(b);
    inputs.push_back(add_weights(plan_.spec.layers[i].name + "/bias", {std::int64_t(b.size)}, {v, v + b.size}, b));
  }

  void to_nchw(const std::string& layer_name) {
    if (nchw_) return;
    set_ints(add("Transpose", layer_name + "/Transpose", {x_}), "perm", {0, 3, 1, 2});
    x_ = layer_name + "/Transpose";
    nchw_ = true;
  }

  void layer(std::size_t i) {
    const LayerSpec& l = plan_.spec.layers[i];
    const LayerPlan& lp = plan_.layers[i];
    switch (l.kind) {
      case LayerKind::conv2d: {
        to_nchw(l.name);
        const TensorSpec& k = plan_.tensors[lp.tensors[0]];  // Keras (kh, kw, in, out)
        const int kh = k.shape[0], kw = k.shape[1], in = k.shape[2], out = k.shape[3];
        const float* src = keras_values(k);
        std::vector<float> w(k.size);  // ONNX (out, in, kh, kw)
        for (int o = 0; o < out; ++o)
          for (int c = 0; c < in; ++c)
            for (int y = 0; y < kh; ++y)
              for (int x = 0; x < kw; ++x)
                w[((std::size_t(o) * in + c) * kh + y) * kw + x] = src[((std::size_t(y) * kw + x) * in + c) * out + o];
        std::vector<std::string> inputs{x_, add_weights(l.name + "/kernel", {out, in, kh, kw}, w, k)};
        add_bias(i, inputs);
        onnx::NodeProto& node = add("Conv", l.name + "/Conv", inputs);
        set_ints(node, "kernel_shape", {kh, kw});
        set_ints(node, "strides", {l.strides[0], l.strides[1]});
        set_ints(node, "pads", window_pads(l, lp));
        set_ints(node, "dilations", {1, 1});
        x_ = l.name + "/Conv";
        activation(l, l.name + "/");
        return;
      }
      case LayerKind::max_pooling2d:
      case LayerKind::average_pooling2d: {
        to_nchw(l.name);
        const bool max = l.kind == LayerKind::max_pooling2d;
        const std::string op = max ? "MaxPool" : "AveragePool";
        onnx::NodeProto& node = add(op, l.name + "/" + op, {x_});
        set_ints(node, "kernel_shape", {l.kernel[0], l.kernel[1]});
        set_ints(node, "strides", {l.strides[0], l.strides[1]});
        set_ints(node, "pads", window_pads(l, lp));
        if (!max) set_int(node, "count_include_pad", 0);  // divide by the real pixels, as TensorFlow
        x_ = l.name + "/" + op;
        return;
      }
      case LayerKind::flatten:
        if (nchw_ && options_.keras_flatten_order) {
          set_ints(add("Transpose", l.name + "/Transpose", {x_}), "perm", {0, 2, 3, 1});
          x_ = l.name + "/Transpose";
        }
        set_int(add("Flatten", l.name + "/Flatten", {x_}), "axis", 1);
        x_ = l.name + "/Flatten";
        nchw_ = false;
        return;
      case LayerKind::dense: {
        const TensorSpec& k = plan_.tensors[lp.tensors[0]];  // Keras (in, out)
        const int in = k.shape[0], out = k.shape[1];
        const float* src = keras_values(k);
        std::vector<float> w(k.size);  // (out, in): Gemm's B with transB=1
        for (int o = 0; o < out; ++o)
          for (int c = 0; c < in; ++c) w[std::size_t(o) * in + c] = src[std::size_t(c) * out + o];
        std::vector<std::string> inputs{x_, add_weights(l.name + "/kernel", {out, in}, w, k)};
        add_bias(i, inputs);
        set_int(add("Gemm", l.name + "/Gemm", inputs), "transB", 1);
        x_ = l.name + "/Gemm";
        activation(l, l.name + "/");
        return;
      }
      case LayerKind::dropout:  // the identity at inference
      case LayerKind::random_flip:
      case LayerKind::random_translation:
      case LayerKind::random_rotation:
      case LayerKind::random_zoom:
        return;
      case LayerKind::batch_normalization:
        batch_norm(i);
        return;
      case LayerKind::activation:
        activation(l, l.name + "/");
        return;
    }
  }

  // BatchNormalization in its inference form (the moving statistics) over ONNX's channel axis 1:
  // NCHW for an image, (N, C) after a Dense. Without scale or center, gamma 1 or beta 0 is stored.
  void batch_norm(std::size_t i) {
    const LayerSpec& l = plan_.spec.layers[i];
    const LayerPlan& lp = plan_.layers[i];
    if (lp.input_shape.size() == 3) to_nchw(l.name);
    const std::size_t channels = std::size_t(lp.input_shape.back());
    std::size_t k = 0;  // Keras's order: gamma (if scale), beta (if center), moving_mean, moving_variance
    auto input = [&](bool present, const char* what, float absent) {
      const TensorSpec& t = plan_.tensors[lp.tensors[present ? k++ : 0]];
      if (!present) {
        TensorSpec none = t;
        none.name = l.name + "/" + what + " (absent: " + (absent == 0 ? "zeros" : "ones") + ")";
        return add_weights(l.name + "/" + what, {std::int64_t(channels)}, std::vector<float>(channels, absent), none);
      }
      const float* v = keras_values(t);
      return add_weights(l.name + "/" + what, {std::int64_t(channels)}, {v, v + channels}, t);
    };
    std::vector<std::string> inputs{x_};
    inputs.push_back(input(l.scale, "gamma", 1.0f));
    inputs.push_back(input(l.center, "beta", 0.0f));
    inputs.push_back(input(true, "moving_mean", 0.0f));
    inputs.push_back(input(true, "moving_variance", 1.0f));
    onnx::NodeProto& node = add("BatchNormalization", l.name + "/BatchNormalization", inputs);
    set_float(node, "epsilon", static_cast<float>(l.epsilon));
    x_ = l.name + "/BatchNormalization";
  }

  void activation(const LayerSpec& l, const std::string& prefix) {
    switch (l.activation) {
      case Activation::linear: return;
      case Activation::relu:
        add("Relu", prefix + "Relu", {x_});
        x_ = prefix + "Relu";
        return;
      case Activation::softmax:  // only on the last layer (plan_model checks)
        logits_ = x_;
        set_int(add("Softmax", kOnnxOutput, {x_}), "axis", 1);
        x_ = kOnnxOutput;
        return;
    }
  }

  void rename(const std::string& from, const std::string& to) {
    for (onnx::NodeProto& node : *graph_.mutable_node()) {
      for (std::string& in : *node.mutable_input()) {
        if (in == from) in = to;
      }
      for (std::string& out : *node.mutable_output()) {
        if (out == from) out = to;
      }
    }
  }

  const ModelPlan& plan_;
  std::span<const float> weights_;
  const OnnxExportOptions& options_;
  onnx::GraphProto& graph_;
  std::string x_ = kOnnxInput;  // the current tensor
  bool nchw_ = false;           // x_ is an image in NCHW (else as the plan has it: NHWC or flat)
  std::string logits_;          // the tensor before the final softmax
  std::vector<std::pair<std::string, bool>> layer_outputs_;
};

// Every layer's output shape as ONNX's shape inference found it must be the plan's.
void check_inferred_shapes(const onnx::ModelProto& model, const ModelPlan& plan, const Emitter& emitter) {
  std::map<std::string, Dims> inferred;
  auto collect = [&](const onnx::ValueInfoProto& v) {
    Dims dims;
    for (const auto& d : v.type().tensor_type().shape().dim()) dims.push_back(d.has_dim_value() ? d.dim_value() : -1);
    inferred[v.name()] = dims;
  };
  for (const auto& v : model.graph().input()) collect(v);  // a first layer that is the identity outputs the input
  for (const auto& v : model.graph().value_info()) collect(v);
  for (const auto& v : model.graph().output()) collect(v);
  for (std::size_t i = 0; i < plan.layers.size(); ++i) {
    const auto& [name, nchw] = emitter.layer_outputs()[i];
    const std::vector<int>& s = plan.layers[i].output_shape;
    Dims want{-1};
    if (nchw) {
      want.insert(want.end(), {s[2], s[0], s[1]});
    } else {
      want.insert(want.end(), s.begin(), s.end());
    }
    const auto found = inferred.find(name);
    Dims got = found == inferred.end() ? Dims{} : found->second;
    if (!got.empty()) got[0] = -1;  // the batch dimension
    if (got != want) {
      throw Error(Exit::internal, "ONNX export: shape inference disagrees with the plan at " +
                                      layer_label(plan.spec, i) + " (tensor '" + name + "')");
    }
  }
}

onnx::ModelProto build_model(const ModelSpec& spec, std::span<const float> weights, const OnnxExportOptions& options) {
  const ModelPlan plan = plan_model(spec);
  if (weights.size() != plan.num_params) {
    throw Error(Exit::checkpoint, spec.source + ": cannot export: it holds " + std::to_string(weights.size()) +
                                      " weights, but its model has " + std::to_string(plan.num_params));
  }
  for (const TensorSpec& t : plan.tensors) {
    const auto values = weights.subspan(t.offset, t.size);
    if (!std::all_of(values.begin(), values.end(), [](float v) { return std::isfinite(v); }))
      throw Error(Exit::checkpoint, spec.source + ": cannot export: " + t.name + " holds NaN or infinite values");
  }
  onnx::ModelProto model;
  model.set_ir_version(kIrVersion);
  model.set_producer_name("fmnist_dist");
  model.set_doc_string("Keras Sequential model '" + spec.name +
                       "': input NHWC float32 pixels in [0, 1]; output as Keras computes it, and the logits");
  onnx::OperatorSetIdProto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOnnxOpset);
  onnx::GraphProto& graph = *model.mutable_graph();
  graph.set_name(spec.name);
  const auto& [h, w, c] = spec.input_shape;
  set_batched_type(*graph.add_input(), kOnnxInput, {h, w, c});
  set_batched_type(*graph.add_output(), kOnnxOutput, {plan.classes()});
  set_batched_type(*graph.add_output(), kOnnxLogits, {plan.classes()});
  Emitter emitter(plan, weights, options, graph);
  emitter.run();
  try {
    onnx::checker::check_model(model);
    onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions(/*check_type=*/true, /*strict_mode=*/1));
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    throw Error(Exit::internal, "ONNX export: ONNX's checker rejects the graph: " + std::string(e.what()));
  }
  check_inferred_shapes(model, plan, emitter);
  return model;
}

std::string serialize(const onnx::ModelProto& model) {
  std::string bytes;
  if (!model.SerializeToString(&bytes)) throw Error(Exit::internal, "ONNX export: protobuf cannot serialize the model");
  return bytes;
}

std::string dims_text(const Dims& dims) {
  std::string text = "(N";
  for (std::int64_t d : dims) text += ", " + std::to_string(d);
  return text + ")";
}

}  // namespace

std::string onnx_model(const ModelSpec& spec, std::span<const float> weights, const OnnxExportOptions& options) {
  return serialize(build_model(spec, weights, options));
}

std::string export_onnx(const ModelSpec& spec, std::span<const float> weights, const std::string& path,
                        const OnnxExportOptions& options) {
  const onnx::ModelProto model = build_model(spec, weights, options);
  const std::string bytes = serialize(model);
  write_file_atomically(path, bytes);
  const ModelPlan plan = plan_model(spec);
  const auto& [h, w, c] = spec.input_shape;
  return "Wrote " + path + " (" + std::to_string(bytes.size()) + " bytes): ONNX opset " + std::to_string(kOnnxOpset) +
         ", " + std::to_string(model.graph().node_size()) + " nodes, " + std::to_string(plan.num_params) +
         " parameters; input '" + kOnnxInput + "' float32 " + dims_text({h, w, c}) +
         " NHWC, pixels in [0, 1]; outputs '" + kOnnxOutput + "' " + dims_text({plan.classes()}) +
         (plan.softmax_output() ? " (softmax probabilities)" : " (the logits: the model ends without softmax)") +
         " and '" + kOnnxLogits + "' " + dims_text({plan.classes()});
}

}  // namespace fmnist
