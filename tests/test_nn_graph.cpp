// Functional models (docs/models.md: Functional models): the Keras 2 and Keras 3 forms of one
// residual model read as one spec, in Keras's order of model.layers whatever the JSON's order, and
// written back; every refusal of a graph we cannot train names the layer and the field; the merge
// layers' input gradients and a model whose tensors feed several branches against central
// differences in double (a control: one branch's share alone fails the check); a Sequential model
// and the same chain written as a Functional one compute the same bytes; fusion only for a single
// consumer; and the buffer plan (no two buffers alive at one step share memory).
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "buffer_plan.hpp"
#include "expect_error.hpp"
#include "fmnist/model.hpp"
#include "grad_check.hpp"
#include "registry.hpp"
#include "test_nn_specs.hpp"

namespace fmnist {
namespace {

using nlohmann::json;
using test::contains;

// One layer of a Functional model written here: class, config (without the name) and inputs.
struct Call {
  std::string cls;
  json config;
  std::string name;
  std::vector<std::string> inputs;
};

// The InputLayer "input" of (6, 5, 3) and `layers`, as Keras 2 (nested lists) or Keras 3
// (module, DTypePolicy, __keras_tensor__ args, bare input_layers) writes them; the output is
// `output` (by default the last layer).
std::string functional_json(const std::vector<Call>& layers, bool keras3 = false, const std::string& output = "") {
  json list = json::array();
  auto tensor = [](const std::string& name) {
    return json{{"class_name", "__keras_tensor__"},
                {"config", {{"shape", {nullptr, 6, 5, 3}}, {"dtype", "float32"}, {"keras_history", {name, 0, 0}}}}};
  };
  auto entry = [&](const std::string& cls, json config, const std::string& name, const std::vector<std::string>& inputs) {
    config["name"] = name;
    if (keras3) config["dtype"] = {{"module", "keras"}, {"class_name", "DTypePolicy"}, {"config", {{"name", "float32"}}}};
    json e = {{"class_name", cls}, {"config", config}, {"name", name}};
    json call = json::array();
    for (const std::string& in : inputs) call.push_back(keras3 ? tensor(in) : json{in, 0, 0, json::object()});
    json args = call.size() == 1 ? call[0] : call;
    if (!inputs.empty()) e["inbound_nodes"] = keras3 ? json::array({{{"args", {args}}, {"kwargs", json::object()}}}) : json::array({call});
    if (inputs.empty()) e["inbound_nodes"] = json::array();
    if (keras3) e["module"] = "keras.layers";
    return e;
  };
  list.push_back(entry("InputLayer", {{keras3 ? "batch_shape" : "batch_input_shape", {nullptr, 6, 5, 3}}}, "input", {}));
  for (const Call& c : layers) list.push_back(entry(c.cls, c.config, c.name, c.inputs));
  const json in = {"input", 0, 0}, out = {output.empty() ? layers.back().name : output, 0, 0};
  const json config = {{"name", "graph"},
                       {"layers", list},
                       {"input_layers", keras3 ? in : json::array({in})},
                       {"output_layers", keras3 ? out : json::array({out})}};
  return json{{"class_name", "Functional"}, {"config", config}}.dump();
}

json conv(int filters, int kernel, const char* activation) {
  return {{"filters", filters}, {"kernel_size", kernel}, {"padding", "same"}, {"activation", activation}};
}

// c1 feeds three layers (c2, add, c3): Add of a residual, and a Concatenate with a 1x1 branch.
std::vector<Call> residual() {
  return {{"Conv2D", conv(4, 3, "relu"), "c1", {"input"}},
          {"Conv2D", conv(4, 3, "linear"), "c2", {"c1"}},
          {"Add", json::object(), "add", {"c1", "c2"}},
          {"Activation", {{"activation", "relu"}}, "a", {"add"}},
          {"Conv2D", conv(2, 1, "relu"), "c3", {"c1"}},
          {"Concatenate", {{"axis", -1}}, "cat", {"a", "c3"}},
          {"Flatten", json::object(), "flat", {"cat"}},
          {"Dense", {{"units", 4}, {"activation", "softmax"}}, "dense", {"flat"}}};
}

std::vector<std::string> names(const ModelSpec& spec) {
  std::vector<std::string> n;
  for (const LayerSpec& l : spec.layers) n.push_back(l.name);
  return n;
}

TEST(Functional, Keras2AndKeras3FormsAreOneSpecWrittenBackAsKeras2) {
  const ModelSpec two = parse_keras_json(functional_json(residual()), "two.json");
  const ModelSpec three = parse_keras_json(functional_json(residual(), true), "three.json");
  EXPECT_TRUE(two.functional);
  EXPECT_EQ(two.layers, three.layers);
  EXPECT_EQ(two.input_name, "input");
  EXPECT_EQ(names(two), (std::vector<std::string>{"c1", "c2", "add", "a", "c3", "cat", "flat", "dense"}));
  EXPECT_EQ(two.layers[2].inputs, (std::vector<int>{0, 1}));
  EXPECT_EQ(two.layers[0].inputs, (std::vector<int>{kModelInput}));
  EXPECT_TRUE(two.positions.empty());
  const std::string text = to_keras_json(two);
  const json doc = json::parse(text);
  EXPECT_EQ(doc["class_name"], "Functional");
  EXPECT_EQ(doc["config"]["layers"][0]["inbound_nodes"], json::array());
  EXPECT_EQ(doc["config"]["layers"][3]["inbound_nodes"], json::parse(R"([[["c1", 0, 0, {}], ["c2", 0, 0, {}]]])"));
  EXPECT_EQ(doc["config"]["output_layers"], json::parse(R"([["dense", 0, 0]])"));
  const ModelSpec back = parse_keras_json(text, "written");
  EXPECT_EQ(back.layers, two.layers);
  EXPECT_EQ(to_keras_json(back), text);
  EXPECT_EQ(keras_layer_names(two).front(), "input");  // Keras's model.layers of a Functional model
  EXPECT_EQ(keras_layer_names(tutorial_model_spec()).front(), "conv2d");
  const ModelPlan plan = plan_model(two);
  EXPECT_EQ(plan.layers[0].consumers, (std::vector<std::size_t>{1, 2, 4}));
  EXPECT_EQ(plan.layers[5].output_shape, (std::vector<int>{6, 5, 6}));
  EXPECT_TRUE(contains(model_summary(plan), "['c1[0][0]',"));
}

// Keras lists a Functional model's layers by depth from the output, ties in the order a walk
// from the output meets them; a JSON in another order is arranged so, and messages keep its positions.
TEST(Functional, LayersTakeKerasOrderAndMessagesTheJsonPositions) {
  std::vector<Call> shuffled = residual();
  std::swap(shuffled[0], shuffled[7]);
  std::swap(shuffled[2], shuffled[4]);
  const ModelSpec spec = parse_keras_json(functional_json(shuffled, false, "dense"), "shuffled.json");
  EXPECT_EQ(spec.layers, parse_keras_json(functional_json(residual()), "ordered.json").layers);
  EXPECT_EQ(spec.positions.size(), spec.layers.size() + 1);
  // A shortcut called first: Add([s, y]) walks s before y, so s comes before y's last conv.
  const std::vector<Call> projection = {{"Conv2D", conv(3, 1, "relu"), "a", {"input"}},
                                        {"Conv2D", conv(3, 3, "relu"), "y1", {"a"}},
                                        {"Conv2D", conv(3, 3, "linear"), "y2", {"y1"}},
                                        {"Conv2D", conv(3, 1, "linear"), "s", {"a"}},
                                        {"Add", json::object(), "add", {"s", "y2"}},
                                        {"Flatten", json::object(), "flat", {"add"}},
                                        {"Dense", {{"units", 2}}, "out", {"flat"}}};
  const ModelSpec keras = parse_keras_json(functional_json(projection), "projection.json");
  EXPECT_EQ(names(keras), (std::vector<std::string>{"a", "y1", "s", "y2", "add", "flat", "out"}));
  EXPECT_EQ(keras.positions, (std::vector<std::size_t>{0, 1, 2, 4, 3, 5, 6, 7}));
  std::vector<Call> bad = shuffled;
  bad[2].config["kernel_size"] = 9;  // c3, at JSON position 3 (6th in Keras's order)
  EXPECT_TRUE(contains(test::expect_error(Exit::usage, [&] { parse_keras_json(functional_json(bad, false, "dense"), "bad.json"); }),
                       "bad.json: layer 3 'c3' (Conv2D): field 'kernel_size': [9, 9] is larger than"));
}

// Each refusal: the JSON with one change, and the start of the message it must give.
struct Refusal {
  const char* what;
  std::function<void(std::vector<Call>&, json&)> change;
  const char* message;
};

std::string refused(const Refusal& r) {
  std::vector<Call> layers = residual();
  json doc;
  r.change(layers, doc);
  json model = json::parse(functional_json(layers));
  if (!doc.is_null()) model.merge_patch(doc);
  return test::expect_error(Exit::usage, [&] { parse_keras_json(model.dump(), "m.json"); });
}

TEST(Functional, RefusesGraphsItCannotTrainNamingLayerAndField) {
  const std::vector<Refusal> refusals = {
      {"a cycle", [](auto& l, auto&) { l[0].inputs = {"c2"}; },
       "m.json: layer 1 'c1' (Conv2D): field 'inbound_nodes': 'c1' <- 'c2' <- 'c1' is a cycle"},
      {"two inputs", [](auto& l, auto&) { l.insert(l.begin(), {"InputLayer", {{"batch_input_shape", {nullptr, 6, 5, 3}}}, "input_2", {}}); },
       "m.json: layer 1 'input_2' (InputLayer): field 'class_name': \"InputLayer\" is not supported a second time"},
      {"an unknown inbound layer", [](auto& l, auto&) { l[3].inputs = {"missing"}; },
       "m.json: layer 4 'a' (Activation): field 'inbound_nodes': 'missing' is not a layer of the model"},
      {"a merge of mismatched shapes", [](auto& l, auto&) { l[1].config["filters"] = 5; },
       "m.json: layer 3 'add' (Add): field 'inbound_nodes': (6, 5, 4), (6, 5, 5) are incompatible shapes"},
      {"a merge that Keras would broadcast", [](auto& l, auto&) { l[1].config["filters"] = 1; },
       "layer 3 'add' (Add): field 'inbound_nodes': (6, 5, 4), (6, 5, 1) is not supported (Keras would broadcast"},
      {"a merge with one input", [](auto& l, auto&) { l[2].inputs = {"c2"}; },
       "layer 3 'add' (Add): field 'inbound_nodes': ['c2'] is not supported (a merge layer takes two or more inputs"},
      {"a layer with two inputs", [](auto& l, auto&) { l[3].inputs = {"add", "c1"}; },
       "layer 4 'a' (Activation): field 'inbound_nodes': ['add', 'c1'] is not supported (Activation takes one input)"},
      {"Concatenate off the channels", [](auto& l, auto&) { l[5].config["axis"] = 1; },
       "layer 6 'cat' (Concatenate): field 'axis': 1 is not supported (only the last axis"},
      {"Subtract of three", [](auto& l, auto&) { l[2].cls = "Subtract"; l[2].inputs = {"c1", "c2", "c1"}; },
       "layer 3 'add' (Subtract): field 'inbound_nodes': 3 inputs is not supported (Subtract takes exactly two)"},
      {"a layer leading nowhere", [](auto& l, auto&) { l.push_back({"Dense", {{"units", 3}}, "dense_2", {"flat"}}); },
       "layer 8 'dense' (Dense): its output leads to no output of the model (output_layers: 'dense_2')"},
      {"two outputs", [](auto&, auto& d) { d = {{"config", {{"output_layers", {{"dense", 0, 0}, {"c3", 0, 0}}}}}}; },
       "m.json: field 'config.output_layers': [[\"dense\", 0, 0], [\"c3\", 0, 0]] is not supported (one output only)"},
      {"a duplicate name", [](auto& l, auto&) { l[4].name = "c2"; },
       "m.json: layer 5 'c2' (Conv2D): field 'name': 'c2' is used by another layer"},
  };
  for (const Refusal& r : refusals) {
    SCOPED_TRACE(r.what);
    const std::string message = refused(r);
    EXPECT_TRUE(contains(message, r.message)) << message;
  }
}

// The calls Keras writes that name what cannot be trained here: a layer called twice (shared),
// its second call, a second output of a layer, and a training argument where training differs.
TEST(Functional, RefusesSharedLayersOtherNodesAndTrainingArguments) {
  json doc = json::parse(functional_json(residual()));
  json& layers = doc["config"]["layers"];
  auto message = [&](const std::function<void()>& edit) {
    json saved = layers;
    edit();
    const std::string m = test::expect_error(Exit::usage, [&] { parse_keras_json(doc.dump(), "m.json"); });
    layers = saved;
    return m;
  };
  EXPECT_TRUE(contains(message([&] { layers[2]["inbound_nodes"].push_back(json::parse(R"([["input", 0, 0, {}]])")); }),
                       "layer 2 'c2' (Conv2D): field 'inbound_nodes': [[[\"c1\", 0, 0, {}]], [[\"input\", 0, 0, {}]]] is "
                       "not supported (the layer is called 2 times: a shared layer"));
  EXPECT_TRUE(contains(message([&] { layers[2]["inbound_nodes"][0][0][1] = 1; }),
                       "layer 2 'c2' (Conv2D): field 'inbound_nodes': [\"c1\", 1, 0, {}] is not supported (node_index 1"));
  EXPECT_TRUE(contains(message([&] { layers[2]["inbound_nodes"][0][0][2] = 1; }),
                       "field 'inbound_nodes': [\"c1\", 0, 1, {}] is not supported (tensor_index 1"));
  EXPECT_TRUE(contains(message([&] { layers[2]["inbound_nodes"] = json::array(); }),
                       "layer 2 'c2' (Conv2D): field 'inbound_nodes': [] is not supported (the layer is never called"));
  layers[7]["inbound_nodes"][0][0][3] = {{"training", false}};  // Flatten: the same in training and inference
  EXPECT_NO_THROW(parse_keras_json(doc.dump(), "m.json"));
  layers.insert(layers.begin() + 8, json{{"class_name", "Dropout"}, {"name", "drop"}, {"config", {{"name", "drop"}, {"rate", 0.5}}},
                                         {"inbound_nodes", json::parse(R"([[["flat", 0, 0, {"training": true}]]])")}});
  layers[9]["inbound_nodes"] = json::parse(R"([[["drop", 0, 0, {}]]])");
  EXPECT_TRUE(contains(message([] {}), "layer 8 'drop' (Dropout): field 'inbound_nodes': {\"training\":true} is not supported"));
  layers[8]["inbound_nodes"][0][0][3] = {{"training", nullptr}, {"mask", nullptr}};
  EXPECT_NO_THROW(parse_keras_json(doc.dump(), "m.json"));
}

// "x1": input k's name in a check's messages.
std::string input_name(std::size_t k) {
  std::string name = "x";
  name += std::to_string(k);
  return name;
}

// The merge kernels' input gradients against central differences of L = sum(w * y), w random,
// inputs random (ties of Maximum and Minimum are kinks the checker skips), and Add of one tensor
// twice through the model (its gradient is the sum of both slots').
TEST(Functional, MergeLayersInputGradients) {
  const int n = 2;
  const std::size_t size = 7;
  std::mt19937_64 rng(3);
  for (int op = 0; op <= static_cast<int>(MergeOp::minimum); ++op) {
    for (int inputs : {2, 3}) {
      if (MergeOp(op) == MergeOp::subtract && inputs != 2) continue;
      SCOPED_TRACE(::testing::Message() << "op " << op << " of " << inputs << " inputs");
      ElementwiseMerge<double> merge(MergeOp(op), size, inputs);
      std::vector<std::vector<double>> x;
      for (int k = 0; k < inputs; ++k) x.push_back(test::random_vector(n * size, rng));
      const std::vector<double> w = test::random_vector(n * size, rng);
      std::vector<double> y(n * size);
      auto loss = [&] {
        std::vector<const double*> p;
        for (auto& xi : x) p.push_back(xi.data());
        merge.forward_inputs(p, y.data(), n, nullptr);
        return test::dot(w.data(), y.data(), y.size());
      };
      loss();
      std::vector<std::vector<double>> dx(x.size(), std::vector<double>(n * size));
      std::vector<const double*> p;
      std::vector<double*> d;
      for (std::size_t k = 0; k < x.size(); ++k) {
        p.push_back(x[k].data());
        d.push_back(dx[k].data());
      }
      std::vector<double> dy = w;
      merge.backward_inputs(p, y.data(), dy.data(), d, n);
      for (std::size_t k = 0; k < x.size(); ++k) test::GradientChecker{}.check(x[k], dx[k], loss, input_name(k));
    }
  }
}

TEST(Functional, ConcatenateInputGradients) {
  const int n = 2;
  std::mt19937_64 rng(4);
  Concatenate<double> cat({3, 1, 2}, 5);
  std::vector<std::vector<double>> x{test::random_vector(n * 15, rng), test::random_vector(n * 5, rng),
                                     test::random_vector(n * 10, rng)};
  const std::vector<double> w = test::random_vector(n * 30, rng);
  std::vector<double> y(n * 30);
  auto loss = [&] {
    cat.forward_inputs(std::vector<const double*>{x[0].data(), x[1].data(), x[2].data()}, y.data(), n, nullptr);
    return test::dot(w.data(), y.data(), y.size());
  };
  loss();
  EXPECT_EQ(y[3], x[1][0]);  // row 0: input 0's 3 values, then input 1's
  std::vector<std::vector<double>> dx{std::vector<double>(n * 15), std::vector<double>(n * 5), std::vector<double>(n * 10)};
  std::vector<double> dy = w;
  cat.backward_inputs(std::vector<const double*>{x[0].data(), x[1].data(), x[2].data()}, y.data(), dy.data(),
                      std::vector<double*>{dx[0].data(), dx[1].data(), dx[2].data()}, n);
  for (std::size_t k = 0; k < 3; ++k) test::GradientChecker{}.check(x[k], dx[k], loss, input_name(k));
}

// Biases start at zero: a relu after a zero input would then sit exactly on its kink, where a
// central difference measures half a slope. Small random biases move every unit off it.
void random_biases(Model<double>& model, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (const TensorSpec& t : model.plan().tensors) {
    if (t.name.find("/bias") == std::string::npos) continue;
    const std::vector<double> b = test::random_vector(t.size, rng, -0.1, 0.1);
    std::copy(b.begin(), b.end(), model.params() + t.offset);
  }
}

// The whole model's parameter gradients in double against central differences, with `at` fixing
// Dropout's masks; returns the analytic gradients.
std::vector<double> checked_gradients(Model<double>& model, const std::vector<double>& x, int n,
                                      const test::GradientChecker& checker) {
  const std::vector<std::uint8_t> labels = {1, 3, 0};
  const DropoutContext at{5, 1, 0};
  model.zero_grads();
  model.accumulate_gradients(x.data(), labels.data(), n, at);
  const std::vector<double> analytic(model.grads(), model.grads() + model.num_params());
  auto loss = [&] { return model.evaluate(x.data(), labels.data(), n, &at).loss_sum; };
  for (const TensorSpec& t : model.plan().tensors)
    checker.check(model.params() + t.offset, analytic.data() + t.offset, t.size, loss, t.name, 21);
  return analytic;
}

// The failures `f` reports, intercepted (they do not fail the test): a control's way to show that
// a check can fail.
template <typename F>
int failures_of(F&& f) {
  ::testing::TestPartResultArray results;
  {
    const ::testing::ScopedFakeTestPartResultReporter reporter(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &results);
    f();
  }
  return results.size();
}

// c1 feeds c2, the Add, a Maximum (of the Add, c1 and c2) and c3: its kernel's gradient is the sum
// of four paths. Control: the gradient with c2's and c3's kernels at zero (the paths through the
// Add and the Maximum alone) fails the same check.
TEST(Functional, ATensorTakenByThreeLayersGetsTheSumOfTheirGradients) {
  std::vector<Call> layers = residual();
  layers.insert(layers.begin() + 7, {"Dropout", {{"rate", 0.3}}, "drop", {"flat"}});
  layers.back().inputs = {"drop"};
  layers.insert(layers.begin() + 3, {"Maximum", json::object(), "max", {"add", "c1", "c2"}});
  layers[4].inputs = {"max"};
  const ModelSpec spec = parse_keras_json(functional_json(layers), "residual.json");
  const int n = 3;
  Model<double> model(spec, n);
  model.init(7);
  random_biases(model, 17);
  const std::vector<double> x = test::random_images(spec, n, 8);
  const test::GradientChecker checker{.step = 1e-6, .floor = 1e-2, .sample = 30};
  const std::vector<double> full = checked_gradients(model, x, n, checker);
  const TensorSpec& c1 = model.plan().tensors[0];
  ASSERT_EQ(c1.name, "c1/kernel:0");
  const std::vector<double> saved(model.params(), model.params() + model.num_params());
  for (const TensorSpec& t : model.plan().tensors) {
    if (t.name == "c2/kernel:0" || t.name == "c3/kernel:0") std::fill(model.params() + t.offset, model.params() + t.offset + t.size, 0.0);
  }
  const std::vector<std::uint8_t> labels = {1, 3, 0};
  model.zero_grads();
  model.accumulate_gradients(x.data(), labels.data(), n, DropoutContext{5, 1, 0});
  const std::vector<double> one_path(model.grads() + c1.offset, model.grads() + c1.offset + c1.size);
  std::copy(saved.begin(), saved.end(), model.params());
  auto loss = [&] {
    const DropoutContext at{5, 1, 0};
    return model.evaluate(x.data(), labels.data(), n, &at).loss_sum;
  };
  EXPECT_GT(failures_of([&] { checker.check(model.params() + c1.offset, one_path.data(), c1.size, loss, "c1 one path", 21); }),
            5);
  EXPECT_NE(std::memcmp(one_path.data(), full.data() + c1.offset, c1.size * sizeof(double)), 0);
}

// The same chain as a Sequential and as a Functional model: the same spec for first_difference,
// the same outputs and gradients to the bit (Dropout's masks by the layer's index); another seed
// differs (the comparison can fail).
TEST(Functional, ASequentialModelAndItsFunctionalChainComputeTheSameBytes) {
  const ModelSpec sequential = test::wide_same_dropout();
  ModelSpec chain = sequential;
  chain.functional = true;
  for (std::size_t i = 0; i < chain.layers.size(); ++i) chain.layers[i].inputs = {static_cast<int>(i) - 1};
  EXPECT_EQ(first_difference(sequential, chain), "");
  EXPECT_NE(to_keras_json(sequential), to_keras_json(chain));
  const int n = 5;
  const std::vector<float> x = test::cast<float>(test::random_images(sequential, n, 2));
  const std::vector<std::uint8_t> labels = {0, 1, 2, 3, 4};
  auto run = [&](const ModelSpec& spec, std::uint64_t seed) {
    Model<float> model(spec, n);
    model.init(seed);
    model.zero_grads();
    model.accumulate_gradients(x.data(), labels.data(), n, DropoutContext{1, 2, 3});
    std::vector<float> bytes(model.grads(), model.grads() + model.num_params());
    const float* logits = model.forward(x.data(), n);
    bytes.insert(bytes.end(), logits, logits + n * 10);
    return bytes;
  };
  const std::vector<float> a = run(sequential, 9), b = run(chain, 9), c = run(chain, 10);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0);
  EXPECT_NE(std::memcmp(a.data(), c.data(), a.size() * sizeof(float)), 0);
  ModelSpec rewired = chain;
  rewired.layers[3].inputs = {1};  // conv2d_1 on max_pooling2d rather than dropout
  EXPECT_TRUE(contains(first_difference(chain, rewired), "layer 4 'conv2d_1' (Conv2D) takes ['dropout'] in test but"));
}

// A layer fuses the next only when that one alone takes its output and takes nothing else.
TEST(Functional, FusionOnlyForTheSingleConsumer) {
  const std::vector<Call> layers = {{"Conv2D", conv(2, 3, "relu"), "c", {"input"}},
                                    {"MaxPooling2D", {{"pool_size", 2}, {"padding", "same"}}, "p", {"c"}},
                                    {"AveragePooling2D", {{"pool_size", 2}, {"padding", "same"}}, "q", {"c"}},
                                    {"Add", json::object(), "add", {"p", "q"}},
                                    {"Conv2D", conv(2, 3, "relu"), "d", {"add"}},
                                    {"MaxPooling2D", {{"pool_size", 2}}, "e", {"d"}},
                                    {"Flatten", json::object(), "flat", {"e"}},
                                    {"Dense", {{"units", 4}}, "out", {"flat"}}};
  const ModelSpec spec = parse_keras_json(functional_json(layers), "fusion.json");
  const ModelPlan plan = plan_model(spec);
  std::unique_ptr<Layer<double>> none;
  auto next = [&](std::size_t i) {
    return LayerBuild<double>{{plan, i}, 1, true, nullptr, nullptr, none}.next();
  };
  EXPECT_EQ(next(0), nullptr);  // c: p and q take it
  ASSERT_NE(next(4), nullptr);  // d: e alone
  EXPECT_EQ(next(4)->name, "e");
  Model<double> model(spec, 3);
  model.init(5);
  random_biases(model, 15);
  checked_gradients(model, test::random_images(spec, 3, 6), 3, test::GradientChecker{.step = 1e-6, .floor = 1e-2});
}

// No two buffers alive at one step share memory; what each buffer holds; and the check can fail.
std::string overlapping(const std::vector<OpUse>& ops, const std::vector<std::size_t>& sizes, const BufferPlan& plan) {
  struct Span {
    std::string what;
    std::size_t begin, end, first, last;
  };
  const std::size_t count = ops.size();
  std::vector<Span> spans;
  for (std::size_t k = 0; k < count; ++k) {
    const std::size_t v = ops[k].out;
    std::size_t last = ops[k].reads_output ? 2 * count - k : k, grad_first = 2 * count - k;
    for (std::size_t c = k + 1; c < count; ++c) {
      for (std::size_t u : ops[c].in) {
        if (u != v) continue;
        last = std::max(last, ops[c].reads_input ? 2 * count - c : c);
        grad_first = std::min(grad_first, 2 * count - c);
      }
    }
    if (k + 1 == count) last = std::max(last, count), grad_first = count;
    spans.push_back({"value " + std::to_string(v), plan.value[v], plan.value[v] + sizes[v], k, last});
    spans.push_back({"grad " + std::to_string(v), plan.grad[v], plan.grad[v] + sizes[v], grad_first, 2 * count - k});
  }
  for (const Span& a : spans)
    for (const Span& b : spans)
      if (&a != &b && a.first <= b.last && b.first <= a.last && a.begin < b.end && b.begin < a.end) return a.what + " and " + b.what;
  return "";
}

TEST(Functional, BufferPlanSharesMemoryOnlyBetweenBuffersNotAliveTogether) {
  // 0 -> 1 (conv) -> 2 (conv) -> 3 = add(1, 2) -> 4 (relu) -> 5 (dense): value 1 has two consumers.
  const std::vector<OpUse> ops = {{{0}, 1, true, true},    {{1}, 2, true, false}, {{1, 2}, 3, false, false},
                                  {{3}, 4, false, true},   {{4}, 5, true, false}};
  const std::vector<std::size_t> sizes = {48, 64, 64, 64, 64, 16};
  const BufferPlan plan = plan_buffers(ops, sizes, 5, 16);
  EXPECT_EQ(overlapping(ops, sizes, plan), "");
  EXPECT_LT(plan.size, plan.unshared);
  EXPECT_EQ(plan.scratch[2][0], kNoBuffer);  // the Add's backward runs first: it writes value 1's gradient
  EXPECT_NE(plan.scratch[1][0], kNoBuffer);  // then conv 2 adds its share through a scratch buffer
  BufferPlan broken = plan;
  broken.value[3] = broken.value[2];  // value 3 (written while value 2 is read) on value 2's memory
  EXPECT_NE(overlapping(ops, sizes, broken), "");
}

// The memory of a step's buffers, for docs/computing.md: printed, and planned below side by side.
TEST(Functional, BufferBytesOfAResidualModelAndTheTutorial) {
  for (const std::string name : {"small_residual.json", "tutorial_keras2.json"}) {
    const ModelSpec spec = read_keras_json(std::string(FMNIST_FIXTURES) + "/models/" + name);
    const Model<float> model(spec, 256);
    const BufferBytes bytes = model.buffer_bytes();
    std::cout << name << ", 256 images: buffers " << bytes.planned << " bytes planned, " << bytes.unshared
              << " side by side\n";
    EXPECT_LT(bytes.planned, bytes.unshared);
  }
}

}  // namespace
}  // namespace fmnist
