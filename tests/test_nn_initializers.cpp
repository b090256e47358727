// Tests of the Keras initializers: glorot_uniform, he_uniform and he_normal draw the same numbers
// as before (against their formulas re-implemented here on the same generator); every other one
// has Keras's distribution (its mean, spread and bounds on a large tensor), orthogonal gives
// orthogonal rows or columns times the gain; the JSON forms (names and aliases, Keras 2's and
// Keras 3's objects, the VarianceScaling forms Keras 2.0-2.2 wrote) read with their arguments,
// write back as Keras and TensorFlow.js read them, and bad ones are refused.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <random>
#include <nlohmann/json.hpp>

#include "expect_error.hpp"
#include "fmnist/model.hpp"

namespace fmnist {
namespace {

using nlohmann::json;

// Input (4, 4, 3) -> Conv2D 6 3x3 (conv) -> Flatten -> Dense `units` (dense), as Keras 2 JSON.
std::string model_json(const json& conv, const json& dense, int units = 10) {
  json c = {{"name", "conv"}, {"filters", 6}, {"kernel_size", 3}}, d = {{"name", "dense"}, {"units", units}};
  if (conv.is_object()) c.update(conv);  // ({} is null)
  if (dense.is_object()) d.update(dense);
  return json{{"class_name", "Sequential"},
              {"config",
               {{"layers",
                 {{{"class_name", "InputLayer"}, {"config", {{"batch_input_shape", {nullptr, 4, 4, 3}}}}},
                  {{"class_name", "Conv2D"}, {"config", c}},
                  {{"class_name", "Flatten"}, {"config", json::object()}},
                  {{"class_name", "Dense"}, {"config", d}}}}}}}
      .dump();
}

// The model's initial weights for `seed`, by tensor.
std::vector<std::vector<double>> initial(const ModelSpec& spec, std::uint64_t seed) {
  Model<double> model(spec, 1);
  model.init(seed);
  std::vector<std::vector<double>> tensors;
  for (const TensorSpec& t : model.plan().tensors)
    tensors.emplace_back(model.params() + t.offset, model.params() + t.offset + t.size);
  return tensors;
}

// The first build's draws, written out again: one mt19937_64 of the seed, 53-bit uniforms in
// arena order; glorot_uniform and he_uniform one uniform per value, he_normal Box-Muller (radius
// first) redrawn beyond two, times sqrt(2 / fan_in) / 0.87962566103423978; zeros draw nothing.
TEST(Initializers, TheFirstThreeDrawTheSameNumbersAsBefore) {
  const ModelSpec spec = parse_keras_json(model_json({{"kernel_initializer", "he_normal"}}, {}), "m.json");
  ModelSpec uniform = spec;
  uniform.layers[0].kernel_initializer = Initializer::he_uniform;
  for (const ModelSpec* s : std::vector<const ModelSpec*>{&spec, &uniform}) {
    std::mt19937_64 rng(42);
    auto u = [&] { return double(rng() >> 11) * 0x1.0p-53; };
    std::vector<double> conv(3 * 3 * 3 * 6), dense(4 * 6 * 10);
    const double fan_in = 27;
    for (double& v : conv) {
      if (s == &uniform) {
        const double limit = std::sqrt(6.0 / fan_in);
        v = -limit + 2.0 * limit * u();
        continue;
      }
      double z;
      do {
        const double radius = std::sqrt(-2.0 * std::log(1.0 - u()));
        z = radius * std::cos(2.0 * std::numbers::pi * u());
      } while (std::abs(z) > 2.0);
      v = z * (std::sqrt(2.0 / fan_in) / 0.87962566103423978);
    }
    for (double& v : dense) v = -std::sqrt(6.0 / 34) + 2.0 * std::sqrt(6.0 / 34) * u();  // glorot_uniform (24, 10)
    const auto got = initial(*s, 42);
    EXPECT_EQ(got[0], conv);
    EXPECT_EQ(got[1], std::vector<double>(6, 0.0));
    EXPECT_EQ(got[2], dense);
    EXPECT_NE(initial(*s, 43)[0], conv);  // the negative control: another seed
  }
}

struct Moments {
  double mean = 0, stddev = 0, low = 1e300, high = -1e300;
};

Moments moments(const std::vector<double>& v) {
  Moments m;
  for (double x : v) m.mean += x / double(v.size()), m.low = std::min(m.low, x), m.high = std::max(m.high, x);
  for (double x : v) m.stddev += (x - m.mean) * (x - m.mean) / double(v.size());
  m.stddev = std::sqrt(m.stddev);
  return m;
}

// Dense (400, 300): 120,000 values, each distribution's moments within 2% (bounds exact).
TEST(Initializers, EachHasKerasDistribution) {
  const int in = 400, out = 300;
  const double trunc = 0.87962566103423978;  // the stddev of a standard normal cut at two
  struct Case {
    json initializer;
    double mean, stddev, bound;  // bound: |v - mean| <= bound (0: none)
  };
  const std::vector<Case> cases = {
      {"glorot_normal", 0, std::sqrt(2.0 / (in + out)), 2 * std::sqrt(2.0 / (in + out)) / trunc},
      {"lecun_normal", 0, std::sqrt(1.0 / in), 2 * std::sqrt(1.0 / in) / trunc},
      {"lecun_uniform", 0, std::sqrt(1.0 / in), std::sqrt(3.0 / in)},
      {"he_normal", 0, std::sqrt(2.0 / in), 2 * std::sqrt(2.0 / in) / trunc},
      {{{"class_name", "RandomNormal"}, {"config", {{"mean", 0.3}, {"stddev", 0.2}, {"seed", 7}}}}, 0.3, 0.2, 0},
      {{{"class_name", "RandomUniform"}, {"config", {{"minval", -0.1}, {"maxval", 0.4}}}}, 0.15, 0.5 / std::sqrt(12.0), 0.25},
      {{{"class_name", "TruncatedNormal"}, {"config", {{"mean", 1.0}, {"stddev", 0.5}}}}, 1.0, 0.5 * trunc, 1.0},
      {"random_normal", 0, 0.05, 0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.initializer.dump());
    const ModelSpec spec = parse_keras_json(
        R"({"class_name": "Sequential", "config": {"layers": [{"class_name": "InputLayer", "config": {"batch_input_shape": [null, 1, 1, 400]}},
            {"class_name": "Flatten", "config": {}}, {"class_name": "Dense", "config": {"units": 300, "kernel_initializer": )" +
            c.initializer.dump() + "}}]}}",
        "m.json");
    const Moments m = moments(initial(spec, 5)[0]);
    EXPECT_NEAR(m.mean, c.mean, 0.02 * c.stddev);
    EXPECT_NEAR(m.stddev, c.stddev, 0.02 * c.stddev);
    if (c.bound > 0) {
      EXPECT_GE(m.low, c.mean - c.bound);
      EXPECT_LE(m.high, c.mean + c.bound);
      EXPECT_LT(m.low, c.mean - 0.9 * c.bound);  // and it reaches out that far
    }
  }
}

// Q^T Q (or Q Q^T with fewer rows than columns) is gain^2 I, for a Dense kernel either way round
// and a Conv2D kernel flattened to (kh * kw * in, out); a constant and ones are what they say.
TEST(Initializers, OrthogonalConstantAndBiases) {
  const json orthogonal = {{"class_name", "Orthogonal"}, {"config", {{"gain", 2.0}, {"seed", nullptr}}}};
  for (int units : {10, 200}) {  // dense (24, 10): orthogonal columns; (24, 200): orthogonal rows
    SCOPED_TRACE(units);
    const ModelSpec spec = parse_keras_json(
        model_json({{"kernel_initializer", orthogonal}}, {{"kernel_initializer", orthogonal}}, units), "m.json");
    const auto w = initial(spec, 3);
    auto check = [](const std::vector<double>& q, int rows, int cols) {  // q (rows, cols), row-major
      const bool by_columns = rows >= cols;
      const int m = by_columns ? cols : rows, k = by_columns ? rows : cols;
      auto at = [&](int vector, int i) { return by_columns ? q[std::size_t(i) * cols + vector] : q[std::size_t(vector) * cols + i]; };
      double worst = 0;
      for (int a = 0; a < m; ++a)
        for (int b = 0; b < m; ++b) {
          double dot = 0;
          for (int i = 0; i < k; ++i) dot += at(a, i) * at(b, i);
          worst = std::max(worst, std::abs(dot - (a == b ? 4.0 : 0.0)));
        }
      EXPECT_LT(worst, 1e-12);
    };
    check(w[0], 27, 6);
    check(w[2], 24, units);
  }
  const ModelSpec spec = parse_keras_json(
      model_json({{"kernel_initializer", {{"class_name", "Constant"}, {"config", {{"value", 0.25}}}}}, {"bias_initializer", "ones"}},
                 {{"bias_initializer", {{"class_name", "Constant"}, {"config", {{"value", -0.5}}}}}}),
      "m.json");
  const auto w = initial(spec, 3);
  EXPECT_EQ(w[0], std::vector<double>(w[0].size(), 0.25));
  EXPECT_EQ(w[1], std::vector<double>(6, 1.0));
  EXPECT_EQ(w[3], std::vector<double>(10, -0.5));
}

Initializer read_kernel_initializer(const json& initializer, InitializerArgs* args = nullptr) {
  const LayerSpec l = parse_keras_json(model_json({}, {{"kernel_initializer", initializer}}), "m.json").layers[2];
  if (args != nullptr) *args = l.kernel_initializer_args;
  return l.kernel_initializer;
}

TEST(Initializers, JsonFormsReadWithTheirArguments) {
  const std::vector<std::pair<json, Initializer>> forms = {
      {"normal", Initializer::random_normal},
      {"uniform", Initializer::random_uniform},
      {"one", Initializer::ones},
      {"lecun_uniform", Initializer::lecun_uniform},
      {{{"class_name", "GlorotNormal"}, {"config", {{"seed", 3}}}}, Initializer::glorot_normal},
      {{{"module", "keras.initializers"}, {"class_name", "LecunNormal"}, {"config", {{"seed", nullptr}}}, {"registered_name", nullptr}},
       Initializer::lecun_normal},
      {{{"class_name", "truncated_normal"}, {"config", json::object()}}, Initializer::truncated_normal},
      // Keras 2.0-2.2: "normal" was the (truncated) normal; tf.keras writes "truncated_normal".
      {{{"class_name", "VarianceScaling"}, {"config", {{"scale", 2.0}, {"mode", "fan_in"}, {"distribution", "normal"}}}},
       Initializer::he_normal},
      {{{"class_name", "VarianceScaling"}, {"config", {{"scale", 1.0}, {"mode", "fan_avg"}, {"distribution", "normal"}}}},
       Initializer::glorot_normal},
      {{{"class_name", "VarianceScaling"}, {"config", {{"scale", 1.0}, {"mode", "fan_in"}, {"distribution", "uniform"}}}},
       Initializer::lecun_uniform},
      {{{"class_name", "VarianceScaling"}, {"config", {{"scale", 1.0}, {"mode", "fan_in"}, {"distribution", "truncated_normal"}}}},
       Initializer::lecun_normal},
  };
  for (const auto& [form, want] : forms) {
    SCOPED_TRACE(form.dump());
    EXPECT_EQ(read_kernel_initializer(form), want);
  }
  InitializerArgs args;
  EXPECT_EQ(read_kernel_initializer({{"class_name", "RandomUniform"}, {"config", {{"minval", -1}, {"maxval", 2}}}}, &args),
            Initializer::random_uniform);
  EXPECT_EQ(args.minval, -1);
  EXPECT_EQ(args.maxval, 2);
  EXPECT_EQ(read_kernel_initializer("random_uniform", &args), Initializer::random_uniform);
  EXPECT_EQ(args, InitializerArgs{});  // Keras's defaults: -0.05, 0.05
  EXPECT_EQ(read_kernel_initializer({{"class_name", "Orthogonal"}, {"config", {{"gain", 0.5}}}}, &args), Initializer::orthogonal);
  EXPECT_EQ(args.gain, 0.5);
}

TEST(Initializers, WriteBackAsKerasAndTensorFlowJsReadThem) {
  const json normal = {{"class_name", "RandomNormal"}, {"config", {{"mean", 0.5}, {"stddev", 0.1}, {"seed", 9}}}};
  const ModelSpec spec = parse_keras_json(
      model_json({{"kernel_initializer", "lecun_normal"}, {"bias_initializer", {{"class_name", "Constant"}, {"config", {{"value", 0.1}}}}}},
                 {{"kernel_initializer", normal}}),
      "m.json");
  const json written = json::parse(to_keras_json(spec));
  const json& conv = written["config"]["layers"][1]["config"];
  EXPECT_EQ(conv["kernel_initializer"].dump(),
            R"({"class_name":"VarianceScaling","config":{"distribution":"truncated_normal","mode":"fan_in","scale":1.0,"seed":null}})");
  EXPECT_EQ(conv["bias_initializer"].dump(), R"({"class_name":"Constant","config":{"value":0.1}})");
  EXPECT_EQ(written["config"]["layers"][3]["config"]["kernel_initializer"].dump(),
            R"({"class_name":"RandomNormal","config":{"mean":0.5,"seed":null,"stddev":0.1}})");
  const ModelSpec back = parse_keras_json(written.dump(), "written");
  EXPECT_EQ(back.layers, spec.layers);
  EXPECT_EQ(describe(back.layers[2]), "Dense 10 linear random_normal(mean 0.5, stddev 0.1)");
  EXPECT_EQ(describe(back.layers[0]), "Conv2D 6 3x3 stride 1x1 valid linear lecun_normal bias constant(value 0.1)");
}

TEST(Initializers, BadFormsAreRefused) {
  const std::string where = "m.json: layer 3 'dense' (Dense): field 'kernel_initializer': ";
  for (const auto& [form, message] : std::vector<std::pair<json, std::string>>{
           {{{"class_name", "RandomNormal"}, {"config", {{"stddev", "big"}}}},
            R"({"class_name":"RandomNormal","config":{"stddev":"big"}} has a 'stddev' that is not a finite number)"},
           {{{"class_name", "Constant"}, {"config", {{"value", {1, 2}}}}},
            R"({"class_name":"Constant","config":{"value":[1, 2]}} has a 'value' that is not a finite number)"},
           {{{"class_name", "Orthogonal"}, {"config", {{"scale", 2}}}},
            R"({"class_name":"Orthogonal","config":{"scale":2}} is not supported (its 'scale'))"},
           {{{"class_name", "VarianceScaling"}, {"config", {{"scale", 3.0}, {"mode", "fan_out"}}}},
            R"({"class_name":"VarianceScaling","config":{"mode":"fan_out","scale":3.0}} is not supported (glorot_uniform,)"},
       }) {
    SCOPED_TRACE(form.dump());
    const std::string got = test::expect_error(Exit::usage, [&] { read_kernel_initializer(form); });
    EXPECT_EQ(got.rfind(where + message, 0), 0u) << got;
  }
}

}  // namespace
}  // namespace fmnist
