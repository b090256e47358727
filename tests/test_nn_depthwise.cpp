// Tests of the depthwise convolutions on their own: DepthwiseConv2D in every configuration a spec
// allows (kernels, strides, valid/same padding, dilation, depth_multiplier, channels below and above
// a vector, relu/linear, with and without bias) and SeparableConv2D against the naive references
// (naive_conv.hpp) in float and double, their gradients against central differences in double and
// their bytes against moved buffers; a dilated Conv2D before a MaxPooling2D (not fused) in a model;
// the Keras JSON of both kinds in Keras 2's and Keras 3's forms, and the refusals that name the
// layer and the field.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "expect_error.hpp"
#include "fmnist/model.hpp"
#include "grad_check.hpp"
#include "layer_checks.hpp"
#include "naive_conv.hpp"

namespace fmnist {
namespace {

using test::cast;
using test::max_rel_diff;
using test::random_vector;

struct DepthwiseCase {
  ConvShape s;  // out_c = in_c * dm
  int dm;
  Activation act;
  bool bias;
};

// in h x w x c, depth_multiplier dm, kernel k, strides st, padding p, dilation d.
ConvShape shape(int h, int w, int c, int dm, std::array<int, 2> k, std::array<int, 2> st, Padding p,
                std::array<int, 2> d = {1, 1}) {
  return {h, w, c, c * dm, k[0], k[1], st[0], st[1], p, d[0], d[1]};
}

std::vector<DepthwiseCase> depthwise_cases() {
  std::vector<DepthwiseCase> cases;
  for (Padding p : {Padding::valid, Padding::same}) {
    cases.push_back({shape(7, 6, 3, 1, {3, 3}, {1, 1}, p), 1, Activation::relu, true});
    cases.push_back({shape(7, 6, 3, 2, {3, 3}, {2, 2}, p), 2, Activation::linear, true});
    cases.push_back({shape(8, 7, 5, 3, {2, 3}, {2, 1}, p), 3, Activation::relu, false});
    cases.push_back({shape(9, 8, 2, 2, {3, 3}, {1, 1}, p, {2, 2}), 2, Activation::linear, true});  // dilated
    cases.push_back({shape(9, 9, 1, 4, {2, 3}, {1, 1}, p, {3, 2}), 4, Activation::relu, true});
    cases.push_back({shape(6, 6, 17, 1, {3, 3}, {1, 1}, p), 1, Activation::relu, true});  // beyond a vector
    cases.push_back({shape(5, 6, 16, 2, {1, 1}, {3, 3}, p), 2, Activation::linear, true});  // strides over the kernel
    cases.push_back({shape(6, 5, 4, 1, {4, 4}, {3, 2}, p), 1, Activation::linear, false});  // even kernel, strides
  }
  return cases;
}

std::string name(const DepthwiseCase& c) {
  const ConvShape& s = c.s;
  return "in " + std::to_string(s.in_h) + "x" + std::to_string(s.in_w) + "x" + std::to_string(s.in_c) + " dm " +
         std::to_string(c.dm) + " k " + std::to_string(s.kernel_h) + "x" + std::to_string(s.kernel_w) + " s " +
         std::to_string(s.stride_h) + "x" + std::to_string(s.stride_w) + " d " + std::to_string(s.dilation_h) + "x" +
         std::to_string(s.dilation_w) + " " + keras_name(s.padding) + " " + keras_name(c.act) + (c.bias ? "" : " no bias");
}

std::size_t taps(const ConvShape& s) { return std::size_t(s.kernel_h) * s.kernel_w; }

template <typename T>
void check_depthwise_against_naive(const DepthwiseCase& c, int n, int max_batch, double tolerance) {
  const ConvShape& s = c.s;
  std::mt19937_64 rng(11 + s.in_c + 10 * s.kernel_h);
  const auto x = random_vector(n * s.in_size(), rng);
  const auto kernel = random_vector(taps(s) * s.out_c, rng, -0.5, 0.5);
  const auto bias = c.bias ? random_vector(s.out_c, rng, -0.2, 0.2) : std::vector<double>();
  const auto dy = random_vector(n * s.out_size(), rng);
  const test::NaiveDepthwise conv{s, c.dm, x, kernel, bias};
  SCOPED_TRACE(name(c));
  test::expect_conv_reference<T>(test::naive_conv_reference(conv, s, c.act, dy, n), s, x, kernel, bias, dy, n, tolerance,
                                 [&](const T* k, const T* b, T* dk, T* db) {
                                   return std::make_unique<DepthwiseConv2D<T>>(s, c.dm, c.act, max_batch, true, k, b,
                                                                               dk, db);
                                 });
}

TEST(DepthwiseConv2D, EveryConfigurationMatchesNaive) {
  for (const DepthwiseCase& c : depthwise_cases()) {
    check_depthwise_against_naive<double>(c, 3, 4, 1e-12);
    check_depthwise_against_naive<float>(c, 3, 4, 2e-5);
  }
}

TEST(DepthwiseConv2D, ModelSizedShapesMatchNaive) {  // 28x28 images, channels of two vectors and more
  check_depthwise_against_naive<float>({shape(28, 28, 32, 1, {3, 3}, {1, 1}, Padding::same), 1, Activation::relu, true},
                                       5, 6, 2e-5);
  check_depthwise_against_naive<float>({shape(14, 14, 24, 2, {5, 5}, {2, 2}, Padding::same), 2, Activation::linear, true},
                                       4, 4, 2e-5);
  check_depthwise_against_naive<float>({shape(12, 12, 1, 8, {3, 3}, {1, 1}, Padding::valid, {2, 2}), 8,
                                        Activation::relu, false},
                                       4, 4, 2e-5);
}

TEST(DepthwiseConv2D, GradientCheckEveryConfiguration) {
  std::uint64_t seed = 100;
  for (const DepthwiseCase& c : depthwise_cases()) {
    SCOPED_TRACE(name(c));
    const ConvShape& s = c.s;
    const int n = 2;
    const std::size_t kernel = taps(s) * s.out_c;
    std::mt19937_64 rng(seed);
    auto x = random_vector(n * s.in_size(), rng);
    std::vector<double> params = random_vector(kernel + (c.bias ? s.out_c : 0), rng, -0.5, 0.5);
    std::vector<double> grads(params.size());
    DepthwiseConv2D<double> layer(s, c.dm, c.act, n, true, params.data(), c.bias ? params.data() + kernel : nullptr,
                                  grads.data(), c.bias ? grads.data() + kernel : nullptr);
    test::check_layer_gradients(layer, x, s.out_size(), n, &params, &grads, nullptr, ++seed);
  }
}

TEST(DepthwiseConv2D, FirstLayerSkipsInputGradientAndRefusesBadShapes) {
  const ConvShape s = shape(6, 6, 2, 3, {3, 3}, {1, 1}, Padding::valid);
  std::mt19937_64 rng(5);
  const auto x = random_vector(2 * s.in_size(), rng), kernel = random_vector(taps(s) * s.out_c, rng);
  std::vector<double> dkernel(kernel.size(), 0), y(2 * s.out_size()), dy(y.size(), 1.0), dx(x.size());
  DepthwiseConv2D<double> layer(s, 3, Activation::linear, 2, false, kernel.data(), nullptr, dkernel.data(), nullptr);
  layer.forward(x.data(), y.data(), 2);
  layer.backward(x.data(), y.data(), dy.data(), nullptr, 2);
  EXPECT_GT(std::abs(dkernel[0]), 0);
  EXPECT_THROW(layer.backward(x.data(), y.data(), dy.data(), dx.data(), 2), std::invalid_argument);
  EXPECT_THROW(layer.forward(x.data(), y.data(), 3), std::invalid_argument);
  EXPECT_THROW(DepthwiseConv2D<double>(s, 2, Activation::linear, 2, false, kernel.data(), nullptr, dkernel.data(), nullptr),
               std::invalid_argument);  // out_c is not in_c * depth_multiplier
}

// ---- SeparableConv2D ----------------------------------------------------------------------------

struct SeparableCase {
  DepthwiseCase depthwise;  // its shape's out_c is the filters; act and bias are the layer's
  int filters;
};

std::vector<SeparableCase> separable_cases() {
  return {{{shape(7, 6, 3, 1, {3, 3}, {1, 1}, Padding::same), 1, Activation::relu, true}, 5},
          {{shape(8, 7, 4, 2, {2, 3}, {2, 1}, Padding::valid), 2, Activation::linear, false}, 3},
          {{shape(9, 9, 2, 3, {3, 3}, {1, 1}, Padding::same, {2, 2}), 3, Activation::relu, true}, 17},
          {{shape(6, 6, 17, 1, {1, 1}, {2, 2}, Padding::valid), 1, Activation::linear, true}, 8}};
}

ConvShape with_filters(ConvShape s, int filters) {
  s.out_c = filters;
  return s;
}

// y = act(z . pointwise + bias), z = depthwise(x) (linear, no bias), and the gradients of sum(y * dy).
test::ConvReference naive_separable(const SeparableCase& c, const std::vector<double>& x, const std::vector<double>& depthwise,
                          const std::vector<double>& pointwise, const std::vector<double>& bias,
                          const std::vector<double>& dy, int n) {
  const ConvShape& s = c.depthwise.s;
  const int mid = s.out_c, f = c.filters;
  const std::size_t pixels = std::size_t(n) * s.out_h() * s.out_w();
  const std::vector<double> no_bias;
  const test::NaiveDepthwise linear{s, c.depthwise.dm, x, depthwise, no_bias};
  const test::ConvReference z =
      test::naive_conv_reference(linear, s, Activation::linear, std::vector<double>(pixels * mid, 0.0), n);
  test::ConvReference r{std::vector<double>(pixels * f), {{}, std::vector<double>(f, 0.0), {}}};
  std::vector<double> dz(pixels * mid, 0.0), dpointwise(pointwise.size(), 0.0);
  for (std::size_t p = 0; p < pixels; ++p)
    for (int o = 0; o < f; ++o) {
      double pre = bias.empty() ? 0.0 : bias[o];
      for (int k = 0; k < mid; ++k) pre += z.y[p * mid + k] * pointwise[std::size_t(k) * f + o];
      const bool pass = c.depthwise.act == Activation::linear || pre > 0;
      r.y[p * f + o] = pass ? pre : 0.0;
      const double g = pass ? dy[p * f + o] : 0.0;
      r.grads.dbias[o] += g;
      for (int k = 0; k < mid; ++k) {
        dpointwise[std::size_t(k) * f + o] += z.y[p * mid + k] * g;
        dz[p * mid + k] += pointwise[std::size_t(k) * f + o] * g;
      }
    }
  const test::ConvReference back = test::naive_conv_reference(linear, s, Activation::linear, dz, n);
  r.grads.dkernel = back.grads.dkernel;
  r.grads.dkernel.insert(r.grads.dkernel.end(), dpointwise.begin(), dpointwise.end());  // depthwise, then pointwise
  r.grads.dx = back.grads.dx;
  return r;
}

template <typename T>
void check_separable_against_naive(const SeparableCase& c, int n, double tolerance) {
  const ConvShape& s = c.depthwise.s;
  const bool bias_on = c.depthwise.bias;
  std::mt19937_64 rng(21 + s.in_c);
  const auto x = random_vector(n * s.in_size(), rng);
  const auto depthwise = random_vector(taps(s) * s.out_c, rng, -0.5, 0.5);
  const auto pointwise = random_vector(std::size_t(s.out_c) * c.filters, rng, -0.5, 0.5);
  const auto bias = bias_on ? random_vector(c.filters, rng, -0.2, 0.2) : std::vector<double>();
  const ConvShape out = with_filters(s, c.filters);
  const auto dy = random_vector(n * out.out_size(), rng);
  const test::ConvReference want = naive_separable(c, x, depthwise, pointwise, bias, dy, n);

  const auto xt = cast<T>(x), dt = cast<T>(depthwise), pt = cast<T>(pointwise), bt = cast<T>(bias);
  std::vector<T> grads(depthwise.size() + pointwise.size() + c.filters, T(0.5));  // backward adds
  T* dd = grads.data();
  T* dp = dd + depthwise.size();
  T* db = dp + pointwise.size();
  SeparableConv2D<T> layer(out, c.depthwise.dm, c.depthwise.act, n, true, dt.data(), pt.data(),
                           bias_on ? bt.data() : nullptr, dd, dp, bias_on ? db : nullptr);
  std::vector<T> y(n * out.out_size()), dyt = cast<T>(dy);
  std::vector<T> dx(n * s.in_size(), std::numeric_limits<T>::quiet_NaN());
  layer.forward(xt.data(), y.data(), n);
  layer.backward(xt.data(), y.data(), dyt.data(), dx.data(), n);
  for (auto& v : grads) v -= T(0.5);
  SCOPED_TRACE(name(c.depthwise) + " filters " + std::to_string(c.filters));
  EXPECT_LE(max_rel_diff(y, want.y), tolerance) << "forward";
  EXPECT_LE(max_rel_diff(std::vector<T>(dd, db), want.grads.dkernel), tolerance) << "ddepthwise, dpointwise";
  if (bias_on) {
    EXPECT_LE(max_rel_diff(std::vector<T>(db, db + c.filters), want.grads.dbias), tolerance) << "dbias";
  }
  EXPECT_LE(max_rel_diff(dx, want.grads.dx), tolerance) << "dx";
}

TEST(SeparableConv2D, EveryConfigurationMatchesNaive) {
  for (const SeparableCase& c : separable_cases()) {
    check_separable_against_naive<double>(c, 3, 1e-12);
    check_separable_against_naive<float>(c, 3, 2e-5);
  }
}

TEST(SeparableConv2D, GradientCheckEveryConfiguration) {
  std::uint64_t seed = 200;
  for (const SeparableCase& c : separable_cases()) {
    SCOPED_TRACE(name(c.depthwise));
    const ConvShape& s = c.depthwise.s;
    const ConvShape out = with_filters(s, c.filters);
    const int n = 2;
    const std::size_t dsize = taps(s) * s.out_c, psize = std::size_t(s.out_c) * c.filters;
    const bool b = c.depthwise.bias;
    std::mt19937_64 rng(seed);
    auto x = random_vector(n * s.in_size(), rng);
    std::vector<double> params = random_vector(dsize + psize + (b ? c.filters : 0), rng, -0.5, 0.5);
    std::vector<double> grads(params.size());
    SeparableConv2D<double> layer(out, c.depthwise.dm, c.depthwise.act, n, true, params.data(), params.data() + dsize,
                                  b ? params.data() + dsize + psize : nullptr, grads.data(), grads.data() + dsize,
                                  b ? grads.data() + dsize + psize : nullptr);
    test::check_layer_gradients(layer, x, out.out_size(), n, &params, &grads, nullptr, ++seed);
  }
}

TEST(DepthwiseLayers, ResultsDoNotDependOnBufferAlignment) {
  const ConvShape s = shape(9, 9, 8, 2, {3, 3}, {1, 1}, Padding::same, {1, 1});
  const std::size_t k = taps(s) * s.out_c;
  test::expect_alignment_free(s.in_size(), s.out_size(), k + s.out_c, 7, [&](float* p, float* g) {
    return std::make_unique<DepthwiseConv2D<float>>(s, 2, Activation::relu, 7, true, p, p + k, g, g + k);
  });
  const ConvShape out = with_filters(s, 24);
  const std::size_t pw = std::size_t(s.out_c) * 24;
  test::expect_alignment_free(s.in_size(), out.out_size(), k + pw + 24, 7, [&](float* p, float* g) {
    return std::make_unique<SeparableConv2D<float>>(out, 2, Activation::relu, 7, true, p, p + k, p + k + pw, g, g + k,
                                                    g + k + pw);
  });
}

// ---- Dilated Conv2D in a model --------------------------------------------------------------------

// A dilated Conv2D followed by a MaxPooling2D is not fused (Conv2DPool reads undilated patches):
// the model computes exactly what Conv2D then MaxPool2D compute, and Conv2DPool refuses the shape.
TEST(DilatedConv2D, BeforeAPoolingRunsUnfusedAndExactly) {
  ModelSpec spec;
  spec.source = "test";
  spec.input_shape = {12, 11, 2};
  LayerSpec conv;
  conv.kind = LayerKind::conv2d;
  conv.name = "conv";
  conv.units = 4;
  conv.kernel = {3, 2};
  conv.dilation = {2, 3};
  conv.padding = Padding::same;
  conv.activation = Activation::relu;
  LayerSpec pool;
  pool.kind = LayerKind::max_pooling2d;
  pool.name = "pool";
  pool.kernel = pool.strides = {2, 2};
  LayerSpec flat;
  flat.kind = LayerKind::flatten;
  flat.name = "flatten";
  spec.layers = {conv, pool, flat};
  const int n = 3;
  Model<float> model(spec, n);
  model.init(4);
  std::mt19937_64 rng(6);
  const auto x = cast<float>(random_vector(n * 12 * 11 * 2, rng, 0, 1));
  const float* got = model.forward(x.data(), n);

  const ConvShape cs{12, 11, 2, 4, 3, 2, 1, 1, Padding::same, 2, 3};
  const ConvShape ps{cs.out_h(), cs.out_w(), 4, 4, 2, 2, 2, 2};
  const float* kernel = model.params();
  const float* bias = kernel + cs.kernel_size();
  std::vector<float> dk(cs.kernel_size()), db(4), mid(n * cs.out_size()), want(n * ps.out_size());
  Conv2D<float>(cs, Activation::relu, n, false, kernel, bias, dk.data(), db.data()).forward(x.data(), mid.data(), n);
  MaxPool2D<float>(ps, n).forward(mid.data(), want.data(), n);
  EXPECT_EQ(std::vector<float>(got, got + want.size()), want);
  EXPECT_THROW(Conv2DPool<float>(cs, ps, Activation::relu, n, false, kernel, bias, dk.data(), db.data()),
               std::invalid_argument);
}

// ---- Keras JSON ---------------------------------------------------------------------------------

using json = nlohmann::json;

// A Sequential of an InputLayer (8, 8, 3), `layer` and Flatten, Dense 10, in Keras 2's form.
std::string model_json(const json& layer) {
  json layers = json::array();
  layers.push_back({{"class_name", "InputLayer"}, {"config", {{"name", "input"}, {"batch_input_shape", {nullptr, 8, 8, 3}}}}});
  layers.push_back(layer);
  layers.push_back({{"class_name", "Flatten"}, {"config", {{"name", "flatten"}}}});
  layers.push_back({{"class_name", "Dense"}, {"config", {{"name", "dense"}, {"units", 10}}}});
  return json{{"class_name", "Sequential"}, {"config", {{"name", "m"}, {"layers", layers}}}}.dump();
}

// tf.keras 2.15's DepthwiseConv2D and SeparableConv2D configs (Conv's groups and, for the separable
// one, its unused kernel_* fields included), and Keras 3's (module, registered_name, DTypePolicy).
json keras2_depthwise() {
  return json::parse(R"({"class_name": "DepthwiseConv2D", "config": {"name": "dw", "trainable": true, "dtype": "float32",
    "kernel_size": [3, 3], "strides": [1, 1], "padding": "same", "data_format": "channels_last",
    "dilation_rate": [2, 2], "groups": 1, "activation": "relu", "use_bias": true,
    "bias_initializer": {"class_name": "Zeros", "config": {}}, "bias_regularizer": null,
    "activity_regularizer": null, "bias_constraint": null, "depth_multiplier": 2,
    "depthwise_initializer": {"class_name": "HeUniform", "config": {"seed": null}},
    "depthwise_regularizer": null, "depthwise_constraint": null}})");
}

json keras3_depthwise() {
  return json::parse(R"({"module": "keras.layers", "class_name": "DepthwiseConv2D", "config": {"name": "dw",
    "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
    "registered_name": null}, "depth_multiplier": 2, "kernel_size": [3, 3], "strides": [1, 1], "padding": "same",
    "data_format": "channels_last", "dilation_rate": [2, 2], "activation": "relu", "use_bias": true,
    "depthwise_initializer": {"module": "keras.initializers", "class_name": "HeUniform", "config": {"seed": null},
    "registered_name": null}, "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros",
    "config": {}, "registered_name": null}, "depthwise_regularizer": null, "bias_regularizer": null,
    "activity_regularizer": null, "depthwise_constraint": null, "bias_constraint": null},
    "registered_name": null, "build_config": {"input_shape": [null, 8, 8, 3]}})");
}

json keras2_separable() {
  return json::parse(R"({"class_name": "SeparableConv2D", "config": {"name": "sep", "trainable": true,
    "dtype": "float32", "filters": 6, "kernel_size": [3, 3], "strides": [2, 2], "padding": "valid",
    "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1, "activation": "linear",
    "use_bias": false, "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": null}},
    "bias_initializer": {"class_name": "Zeros", "config": {}}, "kernel_regularizer": null,
    "bias_regularizer": null, "activity_regularizer": null, "kernel_constraint": null, "bias_constraint": null,
    "depth_multiplier": 1, "depthwise_initializer": {"class_name": "GlorotUniform", "config": {"seed": null}},
    "pointwise_initializer": {"class_name": "HeNormal", "config": {"seed": null}},
    "depthwise_regularizer": null, "pointwise_regularizer": null, "depthwise_constraint": null,
    "pointwise_constraint": null}})");
}

TEST(DepthwiseJson, Keras2AndKeras3FormsReadAlikeAndWriteAsKeras2) {
  const ModelSpec k2 = parse_keras_json(model_json(keras2_depthwise()), "k2.json");
  const ModelSpec k3 = parse_keras_json(model_json(keras3_depthwise()), "k3.json");
  EXPECT_EQ(k2.layers, k3.layers);
  const LayerSpec& l = k2.layers[0];
  EXPECT_EQ(l.kind, LayerKind::depthwise_conv2d);
  EXPECT_EQ(l.dilation, (std::array<int, 2>{2, 2}));
  EXPECT_EQ(l.depth_multiplier, 2);
  EXPECT_EQ(l.kernel_initializer, Initializer::he_uniform);
  const ModelPlan plan = plan_model(k2);
  EXPECT_EQ(plan.layers[0].output_shape, (std::vector<int>{8, 8, 6}));
  EXPECT_EQ(plan.tensors[0].name, "dw/depthwise_kernel:0");
  EXPECT_EQ(plan.tensors[0].shape, (std::vector<int>{3, 3, 3, 2}));
  EXPECT_EQ(plan.tensors[1].name, "dw/bias:0");
  // Written back: Keras 2's fields, without groups (Keras 3 refuses it on these layers).
  const json written = json::parse(to_keras_json(k2))["config"]["layers"][1]["config"];
  json want = keras2_depthwise()["config"];
  want.erase("groups");
  EXPECT_EQ(written, want);

  const ModelSpec sep = parse_keras_json(model_json(keras2_separable()), "sep.json");
  EXPECT_EQ(sep.layers[0].pointwise_initializer, Initializer::he_normal);
  const ModelPlan sp = plan_model(sep);
  EXPECT_EQ(sp.layers[0].output_shape, (std::vector<int>{3, 3, 6}));
  ASSERT_EQ(sp.tensors.size(), 4u);  // no bias: depthwise_kernel, pointwise_kernel, then the Dense's
  EXPECT_EQ(sp.tensors[1].name, "sep/pointwise_kernel:0");
  EXPECT_EQ(sp.tensors[1].shape, (std::vector<int>{1, 1, 3, 6}));
  const json sep_written = json::parse(to_keras_json(sep))["config"]["layers"][1]["config"];
  for (const char* gone : {"groups", "kernel_initializer", "kernel_regularizer", "kernel_constraint"})
    EXPECT_FALSE(sep_written.contains(gone)) << gone;
  EXPECT_EQ(parse_keras_json(to_keras_json(sep), "back").layers, sep.layers);
}

// `edit` applied to a copy of the config of `layer`; parsing must fail with exit 2 naming `what`.
void expect_refused(json layer, const std::function<void(json&)>& edit, const std::string& what) {
  edit(layer["config"]);
  const std::string message = test::expect_error(Exit::usage, [&] { parse_keras_json(model_json(layer), "my.json"); });
  EXPECT_NE(message.find(what), std::string::npos) << "expected: " << what << "\ngot: " << message;
}

TEST(DepthwiseJson, RefusalsNameTheLayerAndTheField) {
  const json dw = keras2_depthwise(), sep = keras2_separable();
  expect_refused(dw, [](json& c) { c["depth_multiplier"] = 0; },
                 "my.json: layer 1 'dw' (DepthwiseConv2D): field 'depth_multiplier': 0 is out of range (1 to 16384)");
  expect_refused(dw, [](json& c) { c["depth_multiplier"] = 6000; },
                 "layer 1 'dw' (DepthwiseConv2D): field 'depth_multiplier': 6000 times 3 input channels is more than "
                 "the limit of 16384 channels");
  expect_refused(dw, [](json& c) { c["strides"] = {2, 2}; },
                 "layer 1 'dw' (DepthwiseConv2D): field 'dilation_rate': [2, 2] is not supported with strides [2, 2]");
  expect_refused(dw, [](json& c) { c["dilation_rate"] = 4; },
                 "field 'kernel_size': [3, 3] dilated by [4, 4] spans 9x9 pixels, more than the input (8, 8, 3)");
  expect_refused(dw, [](json& c) { c["groups"] = 3; }, "field 'groups': 3 is not supported (only 1)");
  expect_refused(dw, [](json& c) { c["depthwise_regularizer"] = {{"class_name", "L2"}, {"config", {{"l2", -1}}}}; },
                 "layer 1 'dw' (DepthwiseConv2D): field 'depthwise_regularizer': "
                 "{\"class_name\":\"L2\",\"config\":{\"l2\":-1}} "
                 "has an 'l2' that is not a finite number >= 0");
  expect_refused(dw, [](json& c) { c["pointwise_regularizer"] = "l2"; },
                 "field 'pointwise_regularizer': \"l2\" is not supported");  // not a DepthwiseConv2D field
  expect_refused(dw, [](json& c) { c["kernel_initializer"] = "he_normal"; },
                 "field 'kernel_initializer': \"he_normal\" is not supported");  // not a DepthwiseConv2D field
  expect_refused(sep, [](json& c) { c.erase("filters"); }, "layer 1 'sep' (SeparableConv2D): field 'filters': missing");
  expect_refused(sep, [](json& c) { c["dilation_rate"] = {1, 2}; },
                 "layer 1 'sep' (SeparableConv2D): field 'dilation_rate': [1, 2] is not supported with strides [2, 2]");
  expect_refused(sep, [](json& c) { c["pointwise_regularizer"] = {{"class_name", "Orthogonal"}}; },
                 "field 'pointwise_regularizer': {\"class_name\":\"Orthogonal\"} is not supported (a regularizer of "
                 "class L1, L2 or L1L2)");
  expect_refused(sep, [](json& c) { c["pointwise_initializer"] = "ones"; },
                 "field 'pointwise_initializer': \"ones\" is not supported (glorot_uniform, he_uniform, he_normal, zeros)");
  expect_refused(sep, [](json& c) { c["depth_multiplier"] = -1; }, "field 'depth_multiplier': -1 is out of range");
}

}  // namespace
}  // namespace fmnist
