// The ONNX export (docs/onnx.md): one pass over the spec's plan, layer by layer in its order (a
// topological one for a Functional graph), builds an opset-13 graph with ONNX's own protobuf
// classes, each layer's nodes as its kind's registry row says them through OnnxGraph
// (src/nn/kinds/: a Transpose to NCHW before the first Conv or pooling, TensorFlow's padding as
// explicit pads, a Transpose back to NHWC before Flatten, Gemm with transB=1, Add or Concat on
// the inputs of a merge, ...); then ONNX's checker and shape inference, and the shapes against
// the plan. The only ONNX code.
#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include "fmnist/atomic_file.hpp"
#include "fmnist/error.hpp"
#include "fmnist/export.hpp"
#include "fmnist/onnx_graph.hpp"
#include "fmnist/text.hpp"

namespace fmnist {
namespace {

constexpr std::int64_t kIrVersion = 8;  // ONNX 1.12's IR; opset 13 needs at least 7
static_assert(std::endian::native == std::endian::little, "ONNX's raw_data is little-endian, as the weights here");
using Dims = OnnxDims;

// A float32 tensor of shape `dims` whose first dimension is the dynamic batch "N".
void set_batched_type(onnx::ValueInfoProto& value, const std::string& name, const Dims& dims) {
  value.set_name(name);
  onnx::TypeProto_Tensor* tensor = value.mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(onnx::TensorProto::FLOAT);
  tensor->mutable_shape()->add_dim()->set_dim_param("N");
  for (std::int64_t d : dims) tensor->mutable_shape()->add_dim()->set_dim_value(d);
}

// The graph as ONNX's protobuf classes, built one layer at a time by the layers' kinds
// (fmnist/onnx_graph.hpp). Tensors are named "<layer>/<Op>" (a layer name has no '/'), so none
// can clash with "input", "output" or "logits"; weights "<layer>/kernel", "<layer>/bias".
class ProtoGraph final : public OnnxGraph {
 public:
  ProtoGraph(const ModelPlan& plan, std::span<const float> weights, const OnnxExportOptions& options,
             onnx::GraphProto& graph)
      : plan_(plan), weights_(weights), options_(options), graph_(graph) {}

  void run() {
    for (std::size_t i = 0; i < plan_.layers.size(); ++i) {
      layer_ = plan_.spec.layers[i].name;
      std::tie(x_, nchw_) = tensor_of(plan_.layers[i].inputs[0]);
      add_onnx_nodes(*this, plan_, i);
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

  std::string input() override { return x_; }

  std::vector<std::string> inputs() override {
    std::vector<std::pair<std::string, bool>> in;
    bool nchw = false;
    for (int j : plan_.layers[layer_index()].inputs) {
      in.push_back(tensor_of(j));
      nchw |= in.back().second;
    }
    std::vector<std::string> names;
    for (const auto& [name, is_nchw] : in) names.push_back(nchw && !is_nchw ? in_layout(name, true) : name);
    x_ = names[0];
    nchw_ = nchw;
    return names;
  }

  std::int64_t channel_axis() const override {
    const bool image = plan_.layers[layer_index()].input_shape.size() == 3;
    return image && !nchw_ ? 3 : 1;
  }

  std::string input_nchw() override {
    if (!nchw_) x_ = in_layout(x_, true);
    nchw_ = true;
    return x_;
  }

  // keras_flatten_order off (the tests' negative control) leaves an NCHW image as it is.
  std::string input_nhwc() override {
    if (nchw_ && options_.keras_flatten_order) x_ = in_layout(x_, false);
    nchw_ = false;
    return x_;
  }

  std::span<const float> values(const TensorSpec& t) const override { return weights_.subspan(t.offset, t.size); }

  std::string weights(const std::string& what, const OnnxDims& dims, std::span<const float> values,
                      const TensorSpec& keras) override {
    onnx::TensorProto* t = graph_.add_initializer();
    t->set_name(layer_ + "/" + what);
    names_.insert(t->name());
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (std::int64_t d : dims) t->add_dims(d);
    t->set_raw_data(values.data(), values.size() * sizeof(float));  // float32, little-endian
    t->set_doc_string("Keras " + keras.name + " " + shape_text(keras.shape));
    return t->name();
  }

  std::string constant(const std::string& what, float value) override {
    onnx::TensorProto* t = graph_.add_initializer();
    t->set_name(unused(layer_ + "/" + what));
    t->set_data_type(onnx::TensorProto::FLOAT);
    t->set_raw_data(&value, sizeof value);  // a scalar: no dims
    return t->name();
  }

  std::string constant(const std::string& what, const OnnxDims& values) override {
    onnx::TensorProto* t = graph_.add_initializer();
    t->set_name(unused(layer_ + "/" + what));
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_dims(std::int64_t(values.size()));
    t->set_raw_data(values.data(), values.size() * sizeof(std::int64_t));  // little-endian
    return t->name();
  }

  std::string node(const std::string& op, const std::vector<std::string>& inputs,
                   const std::vector<OnnxAttribute>& attributes, const std::string& what = "") override {
    const std::string name = unused(layer_ + "/" + (what.empty() ? op : what));
    onnx::NodeProto& node = add(op, name, inputs);
    for (const OnnxAttribute& a : attributes) set_attribute(node, a);
    x_ = name;
    return x_;
  }

  void activation(Activation activation) override {
    if (activation == Activation::relu) node("Relu", {x_}, {});
    if (activation != Activation::softmax) return;
    logits_ = x_;  // only on the last layer (plan_model checks)
    set_attribute(add("Softmax", kOnnxOutput, {x_}), {"axis", std::int64_t{1}});
    x_ = kOnnxOutput;
  }

 private:
  onnx::NodeProto& add(const std::string& op, const std::string& output, const std::vector<std::string>& inputs) {
    onnx::NodeProto* node = graph_.add_node();
    node->set_op_type(op);
    node->set_name(output);
    for (const std::string& in : inputs) node->add_input(in);
    node->add_output(output);
    return *node;
  }

  static void set_attribute(onnx::NodeProto& node, const OnnxAttribute& attribute) {
    onnx::AttributeProto* a = node.add_attribute();
    a->set_name(attribute.name);
    if (const auto* i = std::get_if<std::int64_t>(&attribute.value)) {
      a->set_type(onnx::AttributeProto::INT);
      a->set_i(*i);
    } else if (const auto* f = std::get_if<float>(&attribute.value)) {
      a->set_type(onnx::AttributeProto::FLOAT);
      a->set_f(*f);
    } else {
      a->set_type(onnx::AttributeProto::INTS);
      for (std::int64_t v : std::get<OnnxDims>(attribute.value)) a->add_ints(v);
    }
  }

  // The tensor of layer j's output (the model's input for kModelInput) and whether it is NCHW.
  std::pair<std::string, bool> tensor_of(int j) const {
    return j == kModelInput ? std::pair<std::string, bool>{kOnnxInput, false} : layer_outputs_.at(std::size_t(j));
  }

  std::size_t layer_index() const { return layer_outputs_.size(); }  // the layer being added

  // `tensor` (an image) transposed to NCHW or back to NHWC, by a Transpose made the first time.
  std::string in_layout(const std::string& tensor, bool nchw) {
    const auto [at, fresh] = transposed_.try_emplace({tensor, nchw});
    if (fresh) at->second = node("Transpose", {tensor}, {{"perm", nchw ? OnnxDims{0, 3, 1, 2} : OnnxDims{0, 2, 3, 1}}});
    return at->second;
  }

  // `name`, or name_1, name_2, ... : the first that no tensor of the graph has yet.
  std::string unused(const std::string& name) {
    std::string candidate = name;
    for (int k = 1; !names_.insert(candidate).second; ++k) candidate = name + "_" + std::to_string(k);
    return candidate;
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
  std::string layer_;           // the name of the layer being added
  std::string x_ = kOnnxInput;  // the current tensor
  bool nchw_ = false;           // x_ is an image in NCHW (else as the plan has it: NHWC or flat)
  std::string logits_;          // the tensor before the final softmax
  std::vector<std::pair<std::string, bool>> layer_outputs_;  // each layer's output, and whether it is NCHW
  std::set<std::string> names_;  // the nodes' outputs and the constants so far
  std::map<std::pair<std::string, bool>, std::string> transposed_;  // (tensor, to NCHW) -> its Transpose
};

// Every layer's output shape as ONNX's shape inference found it must be the plan's.
void check_inferred_shapes(const onnx::ModelProto& model, const ModelPlan& plan, const ProtoGraph& emitter) {
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
  model.set_doc_string(std::string("Keras ") + (spec.functional ? "Functional" : "Sequential") + " model '" + spec.name +
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
  ProtoGraph emitter(plan, weights, options, graph);
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
