// Tests of Keras's activations and the activation layers: every activation name read from JSON
// computes Keras's formula (written out here again, and the examples of Keras's own docstrings for
// relu and ReLU), in float and double; every function's derivative and every activated Conv2D and
// Dense against central differences in double; an activation after a Conv2D equals a separate
// Activation layer; the JSON forms (names, Keras 3's function objects, silu, hard_sigmoid by the
// file's Keras line, gelu's tanh form) read, write and read back; the refusals name the layer and
// the field; a final Softmax layer trains as a final softmax activation does.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "expect_error.hpp"
#include "fmnist/layers.hpp"
#include "fmnist/model.hpp"
#include "grad_check.hpp"
#include "kinds/activations.hpp"
#include "registry.hpp"

namespace fmnist {
namespace {

using nlohmann::json;
using test::expect_error;
using test::GradientChecker;

// A model of an (h, w, c) input -> `layers` -> Flatten -> Dense 3, as Keras 2 JSON; `keras3`:
// Keras 3's form (module keys, batch_shape).
std::string model_json(const std::vector<json>& layers, std::array<int, 3> input = {2, 2, 2}, bool keras3 = false) {
  json all = json::array();
  const json shape = {nullptr, input[0], input[1], input[2]};
  json input_layer = {{"class_name", "InputLayer"}, {"config", {{"name", "input"}}}};
  input_layer["config"][keras3 ? "batch_shape" : "batch_input_shape"] = shape;
  if (keras3) input_layer["module"] = "keras.layers";
  all.push_back(input_layer);
  for (const json& l : layers) all.push_back(l);
  all.push_back({{"class_name", "Flatten"}, {"config", {{"name", "flatten_out"}}}});
  all.push_back({{"class_name", "Dense"}, {"config", {{"name", "dense_out"}, {"units", 3}}}});
  json doc = {{"class_name", "Sequential"}, {"config", {{"name", "m"}, {"layers", all}}}};
  if (keras3) doc["module"] = "keras";
  return doc.dump();
}

json activation_layer(const json& activation) {
  return {{"class_name", "Activation"}, {"config", {{"name", "act"}, {"activation", activation}}}};
}

// The spec of Activation(activation), read from JSON.
LayerSpec read_activation_spec(const json& activation, bool keras3 = false) {
  return parse_keras_json(model_json({activation_layer(activation)}, {2, 2, 2}, keras3), "m.json").layers[0];
}

// Keras's formulas, written out again (keras/src/activations/activations.py, tf_keras/backend.py).
struct Formula {
  json activation;
  std::function<double(double)> f;
  bool keras3 = false;
};

std::vector<Formula> formulas() {
  auto sigmoid = [](double x) { return 1 / (1 + std::exp(-x)); };
  return {
      {"relu6", [](double x) { return std::min(std::max(x, 0.0), 6.0); }},
      {"leaky_relu", [](double x) { return x > 0 ? x : 0.2 * x; }},
      {"elu", [](double x) { return x > 0 ? x : std::exp(x) - 1; }},
      {"selu", [](double x) { return 1.0507009873554805 * (x > 0 ? x : 1.6732632423543772 * (std::exp(x) - 1)); }},
      {"gelu", [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }},
      {{{"class_name", "function"}, {"config", {{"name", "gelu"}, {"approximate", true}}}},
       [](double x) { return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x))); }},
      {"swish", [=](double x) { return x * sigmoid(x); }},
      {"silu", [=](double x) { return x * sigmoid(x); }},
      {"sigmoid", sigmoid},
      {"tanh", [](double x) { return std::tanh(x); }},
      {"softplus", [](double x) { return std::log(1 + std::exp(x)); }},
      {"softsign", [](double x) { return x / (1 + std::abs(x)); }},
      {"hard_sigmoid", [](double x) { return std::min(std::max(0.2 * x + 0.5, 0.0), 1.0); }},
      {"hard_sigmoid", [](double x) { return std::min(std::max(x + 3, 0.0), 6.0) / 6; }, true},
      {"exponential", [](double x) { return std::exp(x); }},
  };
}

const std::vector<double> kPoints = {-7, -3, -2.5, -1.3, -0.2, 0, 0.4, 1, 2.6, 3.2, 8};

// The object of a model's first layer, made by its kind's registry row as the model makes it.
template <typename T>
struct FirstLayer {
  ModelPlan plan;
  AlignedVector<T> params, grads;
  std::unique_ptr<Layer<T>> shared;
  BuiltLayer<T> built;
  FirstLayer(const json& layer, std::array<int, 3> input, int max_batch, bool keras3 = false)
      : plan(plan_model(parse_keras_json(model_json({layer}, input, keras3), "m.json"))),
        params(plan.num_params),
        grads(plan.num_params) {
    const LayerBuild<T> b{{plan, 0}, max_batch, true, params.data(), grads.data(), shared};
    built = kind_row(plan.spec.layers[0].kind).template make<T>()(b);
  }
  std::vector<T> forward(const std::vector<double>& x, int n) {
    const std::vector<T> in(x.begin(), x.end());
    std::vector<T> y(x.size());
    built.layer->forward(in.data(), y.data(), n, nullptr);
    return y;
  }
};

TEST(Activations, EveryNameComputesKerasFormulaInFloatAndDouble) {
  const std::array<int, 3> input{1, int(kPoints.size()), 1};
  for (const Formula& k : formulas()) {
    SCOPED_TRACE(k.activation.dump() + (k.keras3 ? " (Keras 3 JSON)" : ""));
    FirstLayer<double> d(activation_layer(k.activation), input, 1, k.keras3);
    FirstLayer<float> f(activation_layer(k.activation), input, 1, k.keras3);
    ASSERT_NE(d.built.layer, nullptr);
    const std::vector<double> yd = d.forward(kPoints, 1);
    const std::vector<float> yf = f.forward(kPoints, 1);
    for (std::size_t i = 0; i < kPoints.size(); ++i) {
      const double want = k.f(kPoints[i]);
      EXPECT_NEAR(yd[i], want, 1e-12 * (1 + std::abs(want))) << "x = " << kPoints[i];
      EXPECT_NEAR(yf[i], want, 2e-6 * (1 + std::abs(want))) << "x = " << kPoints[i];
    }
  }
  // The negative control: Keras 2's and Keras 3's hard_sigmoid are different functions.
  FirstLayer<double> k2(activation_layer("hard_sigmoid"), input, 1), k3(activation_layer("hard_sigmoid"), input, 1, true);
  EXPECT_NE(k2.forward(kPoints, 1)[7], k3.forward(kPoints, 1)[7]);  // x = 1: 0.7 and 2/3
}

// L = sum(r * layer(x)): the layer's dx against central differences, away from the kinks.
void check_gradient(const json& layer, std::uint64_t seed, bool keras3 = false) {
  const int n = 3;
  FirstLayer<double> l(layer, {2, 5, 4}, n, keras3);
  const std::size_t size = 40;
  std::mt19937_64 rng(seed);
  std::vector<double> x = test::random_vector(n * size, rng, -4, 4);
  const std::vector<double> r = test::random_vector(n * size, rng);
  std::vector<double> y(x.size()), dx(x.size());
  auto loss = [&] {
    l.built.layer->forward(x.data(), y.data(), n, nullptr);
    return test::dot(y.data(), r.data(), y.size());
  };
  loss();
  std::vector<double> dy = r;
  l.built.layer->backward(x.data(), y.data(), dy.data(), dx.data(), n);
  EXPECT_GT(GradientChecker{}.check(x, dx, loss, "dx", seed).largest, 0.01);
}

TEST(Activations, EveryFunctionsAndLayersDerivativeMatchesCentralDifferences) {
  for (const Formula& k : formulas()) {
    SCOPED_TRACE(k.activation.dump());
    check_gradient(activation_layer(k.activation), 3, k.keras3);
  }
  for (const char* layer : {R"({"class_name": "ReLU", "config": {"max_value": 2.5, "negative_slope": 0.3, "threshold": 0.5}})",
                            R"({"class_name": "ReLU", "config": {"max_value": 6}})",
                            R"({"class_name": "LeakyReLU", "config": {"alpha": 0.1}})",
                            R"({"class_name": "LeakyReLU", "config": {}})",
                            R"({"class_name": "ELU", "config": {"alpha": 0.4}})"}) {
    SCOPED_TRACE(layer);
    check_gradient(json::parse(layer), 5);
  }
}

// Keras's relu(x, negative_slope, max_value, threshold) on its docstrings' examples: Keras 3's
// keras.activations.relu on [-10, -5, 0, 5, 10] and tf_keras's ReLU layer on [-3, -1, 0, 2] (or
// [-3, -1, 1, 2] for its threshold example); the LeakyReLU and ELU layers' defaults.
TEST(Activations, ReluFollowsKerasDocstringExamples) {
  struct Example {
    const char* layer;
    std::vector<double> x, want;
  };
  const std::vector<Example> examples = {
      {R"({"class_name": "ReLU", "config": {}})", {-10, -5, 0, 5, 10}, {0, 0, 0, 5, 10}},
      {R"({"class_name": "ReLU", "config": {"negative_slope": 0.5}})", {-10, -5, 0, 5, 10}, {-5, -2.5, 0, 5, 10}},
      {R"({"class_name": "ReLU", "config": {"max_value": 5.0}})", {-10, -5, 0, 5, 10}, {0, 0, 0, 5, 5}},
      {R"({"class_name": "ReLU", "config": {"threshold": 5.0}})", {-10, -5, 0, 5, 10}, {0, 0, 0, 0, 10}},
      {R"({"class_name": "ReLU", "config": {"max_value": 1.0}})", {-3, -1, 0, 2}, {0, 0, 0, 1}},
      {R"({"class_name": "ReLU", "config": {"negative_slope": 1.0}})", {-3, -1, 0, 2}, {-3, -1, 0, 2}},
      {R"({"class_name": "ReLU", "config": {"threshold": 1.5}})", {-3, -1, 1, 2}, {0, 0, 0, 2}},
      {R"({"class_name": "LeakyReLU", "config": {}})", {-3, -1, 0, 2}, {-0.9, -0.3, 0, 2}},
      {R"({"class_name": "ELU", "config": {}})", {-1, 0, 2}, {std::expm1(-1.0), 0, 2}},
  };
  for (const Example& e : examples) {
    SCOPED_TRACE(e.layer);
    FirstLayer<double> l(json::parse(e.layer), {1, int(e.x.size()), 1}, 1);
    const std::vector<double> y = l.forward(e.x, 1);
    for (std::size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], e.want[i], 1e-15) << "x = " << e.x[i];
  }
}

// The model's gradients (double) against central differences of the loss sum.
void check_model_gradients(const ModelSpec& spec, std::uint64_t seed) {
  const int n = 3;
  Model<double> model(spec, n);
  model.init(seed);
  const std::vector<double> x = test::random_images(spec, n, seed + 1);
  const std::vector<std::uint8_t> labels = {0, 2, 1};
  model.zero_grads();
  model.accumulate_gradients(x.data(), labels.data(), n, DropoutContext{});
  const std::vector<double> analytic(model.grads(), model.grads() + model.num_params());
  auto loss = [&] { return model.evaluate(x.data(), labels.data(), n).loss_sum; };
  const GradientChecker checker{.step = 1e-6, .floor = 1e-2, .sample = 30};
  for (const TensorSpec& t : model.plan().tensors) {
    const auto r = checker.check(model.params() + t.offset, analytic.data() + t.offset, t.size, loss, t.name, seed);
    EXPECT_GT(r.largest, 1e-6) << t.name;
  }
}

// Every activation after a Conv2D (before a MaxPooling2D: not fused when the kernel cannot
// compute it) and after a Dense: the layer and its activation together.
TEST(Activations, ActivatedConv2DAndDenseHaveCorrectGradients) {
  for (const Formula& k : formulas()) {
    SCOPED_TRACE(k.activation.dump());
    const std::vector<json> layers = {
        {{"class_name", "Conv2D"}, {"config", {{"filters", 3}, {"kernel_size", 2}, {"activation", k.activation}}}},
        {{"class_name", "MaxPooling2D"}, {"config", {{"pool_size", 2}}}},
        {{"class_name", "Flatten"}, {"config", json::object()}},
        {{"class_name", "Dense"}, {"config", {{"units", 5}, {"activation", k.activation}}}}};
    const ModelSpec spec = parse_keras_json(model_json(layers, {5, 5, 2}, k.keras3), "m.json");
    EXPECT_EQ(spec.layers[0].activation, spec.layers[3].activation);
    check_model_gradients(spec, 7);
  }
}

// Conv2D(activation=gelu) computes what Conv2D followed by Activation('gelu') computes, bit for
// bit, in training and in evaluation; Conv2D(relu) -> MaxPooling2D stays fused and still equals
// its unfused form up to rounding.
TEST(Activations, AnActivationArgumentIsTheActivationLayerAfterIt) {
  for (const char* name : {"gelu", "relu"}) {
    SCOPED_TRACE(name);
    const json conv = {{"class_name", "Conv2D"}, {"config", {{"name", "c"}, {"filters", 4}, {"kernel_size", 3}}}};
    json fused = conv, plain = conv;
    fused["config"]["activation"] = name;
    const json pool = {{"class_name", "MaxPooling2D"}, {"config", {{"name", "p"}}}};
    const ModelSpec a = parse_keras_json(model_json({fused, pool}, {8, 8, 2}), "a.json");
    const ModelSpec b = parse_keras_json(model_json({plain, activation_layer(name), pool}, {8, 8, 2}), "b.json");
    const int n = 2;
    Model<float> ma(a, n), mb(b, n);
    ma.init(3);
    mb.init(3);
    ASSERT_EQ(ma.num_params(), mb.num_params());
    const std::vector<float> x = test::cast<float>(test::random_images(a, n, 4));
    const float* ya = ma.forward(x.data(), n);
    const std::vector<float> first(ya, ya + n * 3);
    const float* yb = mb.forward(x.data(), n);
    for (int i = 0; i < n * 3; ++i) {
      if (std::string(name) == "gelu") {
        EXPECT_EQ(first[i], yb[i]) << i;
      } else {
        EXPECT_NEAR(first[i], yb[i], 1e-5) << i;
      }
    }
  }
}

TEST(Activations, JsonFormsReadWriteAndReadBack) {
  // Keras 3's serialized function is the name; silu is swish.
  const json k3_object = {{"module", "keras.activations"}, {"class_name", "function"}, {"config", "tanh"},
                          {"registered_name", "tanh"}};
  EXPECT_EQ(read_activation_spec(k3_object).activation, Activation::tanh);
  EXPECT_EQ(read_activation_spec("silu").activation, Activation::swish);
  // hard_sigmoid follows the file's Keras line: batch_shape / module, or its own function object.
  EXPECT_FALSE(read_activation_spec("hard_sigmoid").hard_sigmoid_keras3);
  EXPECT_TRUE(read_activation_spec("hard_sigmoid", true).hard_sigmoid_keras3);
  EXPECT_TRUE(read_activation_spec({{"module", "keras.activations"}, {"class_name", "function"}, {"config", "hard_sigmoid"}})
                  .hard_sigmoid_keras3);
  EXPECT_FALSE(read_activation_spec("relu", true).hard_sigmoid_keras3);  // only hard_sigmoid carries it
  const LayerSpec gelu_tanh = read_activation_spec({{"class_name", "function"}, {"config", {{"name", "gelu"}, {"approximate", true}}}});
  EXPECT_TRUE(gelu_tanh.gelu_approximate);
  EXPECT_FALSE(read_activation_spec("gelu").gelu_approximate);
  // Written back and read again: the same spec, and each form keeps its formula.
  for (const json& a : {json("hard_sigmoid"), json("silu"), json("gelu"), json("relu6"), json("leaky_relu"), json("exponential"),
                        json{{"class_name", "function"}, {"config", {{"name", "gelu"}, {"approximate", true}}}}}) {
    for (bool keras3 : {false, true}) {
      SCOPED_TRACE(a.dump() + (keras3 ? " (Keras 3)" : ""));
      const ModelSpec spec = parse_keras_json(model_json({activation_layer(a)}, {2, 2, 2}, keras3), "m.json");
      const std::string text = to_keras_json(spec);
      const ModelSpec back = parse_keras_json(text, "written");
      EXPECT_EQ(back.layers, spec.layers);
      EXPECT_EQ(to_keras_json(back), text);
    }
  }
  const json written = json::parse(to_keras_json(parse_keras_json(model_json({activation_layer("silu")}), "m.json")));
  EXPECT_EQ(written["config"]["layers"][1]["config"]["activation"], "swish");  // the name tf.keras 2.x, Keras 3 and tfjs know
  EXPECT_EQ(describe(read_activation_spec("hard_sigmoid", true)), "Activation hard_sigmoid (Keras 3)");
  EXPECT_EQ(describe(gelu_tanh), "Activation gelu (tanh)");
}

std::string refused(const std::string& text) { return expect_error(Exit::usage, [&] { parse_keras_json(text, "m.json"); }); }

TEST(Activations, BadValuesAreRefusedNamingTheLayerAndField) {
  EXPECT_EQ(refused(model_json({activation_layer("swishy")})),
            "m.json: layer 1 'act' (Activation): field 'activation': \"swishy\" is not supported (linear, relu, softmax, "
            "relu6, leaky_relu, elu, selu, gelu, swish, sigmoid, tanh, softplus, softsign, hard_sigmoid, exponential "
            "(silu is swish))");
  const json conv = {{"class_name", "Conv2D"}, {"config", {{"name", "c"}, {"filters", 2}, {"kernel_size", 1}, {"activation", 3}}}};
  EXPECT_EQ(refused(model_json({conv})), "m.json: layer 1 'c' (Conv2D): field 'activation': 3 is not an activation name");
  EXPECT_TRUE(test::contains(
      refused(model_json({activation_layer({{"class_name", "function"}, {"config", {{"name", "tanh"}, {"approximate", true}}}})})),
      "field 'activation': {\"class_name\":\"function\",\"config\":{\"approximate\":true,\"name\":\"tanh\"}} is not supported "
      "(its 'approximate': only gelu's approximate, true or false)"));
  const json softmax = {{"class_name", "Softmax"}, {"config", {{"name", "s"}}}};
  EXPECT_EQ(refused(model_json({softmax})),
            "m.json: layer 1 's' (Softmax): field 'class_name': \"Softmax\" is only supported as the last layer (it is "
            "trained as logits)");
  const json axis = {{"class_name", "Softmax"}, {"config", {{"name", "s"}, {"axis", 1}}}};
  EXPECT_TRUE(test::contains(refused(model_json({axis})), "layer 1 's' (Softmax): field 'axis': 1 is not supported (only -1)"));
  struct Case {
    const char* layer;
    const char* message;
  };
  for (const Case& c : std::vector<Case>{
           {R"({"class_name": "ReLU", "config": {"name": "r", "max_value": -1}})",
            "layer 1 'r' (ReLU): field 'max_value': -1 is negative (Keras takes only values >= 0)"},
           {R"({"class_name": "ReLU", "config": {"name": "r", "threshold": -0.5}})",
            "layer 1 'r' (ReLU): field 'threshold': -0.5 is negative"},
           {R"({"class_name": "ReLU", "config": {"name": "r", "negative_slope": "a"}})",
            "layer 1 'r' (ReLU): field 'negative_slope': \"a\" is not a finite number"},
           {R"({"class_name": "LeakyReLU", "config": {"name": "l", "negative_slope": -0.1}})",
            "layer 1 'l' (LeakyReLU): field 'negative_slope': -0.1 is negative"},
           {R"({"class_name": "LeakyReLU", "config": {"name": "l", "alpha": 0.1, "negative_slope": 0.1}})",
            "layer 1 'l' (LeakyReLU): field 'alpha': 0.1 is given with 'negative_slope'"},
           {R"({"class_name": "ELU", "config": {"name": "e", "alpha": null, "beta": 1}})",
            "layer 1 'e' (ELU): field 'beta': 1 is not supported"},
       }) {
    SCOPED_TRACE(c.layer);
    const std::string message = refused(model_json({json::parse(c.layer)}));
    EXPECT_TRUE(test::contains(message, c.message)) << message;
  }
}

// A final Softmax layer is a final softmax activation: the same logits, loss and gradients, the
// same training_config (categorical cross-entropy on probabilities).
TEST(Activations, AFinalSoftmaxLayerTrainsAsAFinalSoftmaxActivation) {
  const json flat = {{"class_name", "Flatten"}, {"config", json::object()}};
  const json dense = {{"class_name", "Dense"}, {"config", {{"name", "d"}, {"units", 4}}}};
  json dense_softmax = dense;
  dense_softmax["config"]["activation"] = "softmax";
  const json softmax = {{"class_name", "Softmax"}, {"config", {{"axis", -1}}}};
  auto model_of = [](std::vector<json> layers) {
    json all = json::array({{{"class_name", "InputLayer"}, {"config", {{"batch_input_shape", {nullptr, 3, 3, 1}}}}}});
    for (json& l : layers) all.push_back(l);
    return parse_keras_json(json{{"class_name", "Sequential"}, {"config", {{"layers", all}}}}.dump(), "m.json");
  };
  const ModelSpec a = model_of({flat, dense, softmax}), b = model_of({flat, dense_softmax});
  EXPECT_TRUE(plan_model(a).softmax_output());
  EXPECT_EQ(keras_training_config(a, {"SGD", {}, {}}), keras_training_config(b, {"SGD", {}, {}}));
  Model<double> ma(a, 2), mb(b, 2);
  ma.init(1);
  mb.init(1);
  const std::vector<double> x = test::random_images(a, 2, 2);
  const std::vector<std::uint8_t> labels = {1, 3};
  const BatchStats sa = ma.accumulate_gradients(x.data(), labels.data(), 2, {});
  const BatchStats sb = mb.accumulate_gradients(x.data(), labels.data(), 2, {});
  EXPECT_EQ(sa.loss_sum, sb.loss_sum);
  EXPECT_EQ(std::vector<double>(ma.grads(), ma.grads() + ma.num_params()),
            std::vector<double>(mb.grads(), mb.grads() + mb.num_params()));
  const ModelSpec logits = model_of({flat, dense});  // the negative control: a model ending in logits
  EXPECT_FALSE(plan_model(logits).softmax_output());
  EXPECT_NE(keras_training_config(logits, {"SGD", {}, {}}), keras_training_config(a, {"SGD", {}, {}}));
}

}  // namespace
}  // namespace fmnist
