// Tests of the augmentation layers (RandomFlip, RandomTranslation, RandomRotation, RandomZoom):
// each geometric case against results computed by hand (flips, integer shifts, a quarter turn,
// every fill mode, nearest vs bilinear at half a pixel, zooms), the draws within their ranges and
// a function of (seed, step, position, layer) only, input gradients in double against central
// differences, the layers inside a model, and their Keras JSON read, written back and refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <numbers>
#include <random>
#include <sstream>
#include <vector>

#include "fmnist/augment.hpp"
#include "fmnist/error.hpp"
#include "fmnist/model.hpp"
#include "grad_check.hpp"
#include "test_nn_specs.hpp"

namespace fmnist {
namespace {

using nlohmann::json;
using test::dot;
using test::GradientChecker;
using test::random_vector;

const std::string kModels = std::string(FMNIST_FIXTURES) + "/models/";

AugmentSpec settings(FillMode fill, Interpolation interpolation, double fill_value = 0) {
  AugmentSpec s;
  s.fill_mode = fill;
  s.interpolation = interpolation;
  s.fill_value = fill_value;
  return s;
}

// The image x (h, w, c) through the draw's transform.
std::vector<double> warp(const AugmentDraw& d, const AugmentSpec& s, std::array<int, 3> shape, const std::vector<double>& x) {
  std::vector<double> y(x.size()), scratch(warp_scratch_size(shape));
  warp_image(transform_of(d, shape[0], shape[1]), s, shape, x.data(), y.data(), scratch.data());
  return y;
}

void expect_image(const std::vector<double>& got, const std::vector<double>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5) << what << " at " << i;
}

// ---- Geometry, by hand --------------------------------------------------------------------------

const AugmentSpec kNearestConstant = settings(FillMode::constant, Interpolation::nearest);
const AugmentSpec kBilinearReflect = settings(FillMode::reflect, Interpolation::bilinear);

TEST(AugmentGeometry, FlipsMirrorLeftRightAndTopBottom) {
  const std::vector<double> x = {1, 10, 2, 20, 3, 30,  // (2, 3, 2): two channels move together
                                 4, 40, 5, 50, 6, 60};
  AugmentDraw h;
  h.flip_horizontal = true;
  expect_image(warp(h, kBilinearReflect, {2, 3, 2}, x), {3, 30, 2, 20, 1, 10, 6, 60, 5, 50, 4, 40}, "horizontal");
  AugmentDraw v;
  v.flip_vertical = true;
  expect_image(warp(v, kBilinearReflect, {2, 3, 2}, x), {4, 40, 5, 50, 6, 60, 1, 10, 2, 20, 3, 30}, "vertical");
  AugmentDraw both = h;
  both.flip_vertical = true;
  expect_image(warp(both, kNearestConstant, {2, 3, 2}, x), {6, 60, 5, 50, 4, 40, 3, 30, 2, 20, 1, 10}, "both");
  expect_image(warp(AugmentDraw{}, kBilinearReflect, {2, 3, 2}, x), x, "no flip");
}

TEST(AugmentGeometry, IntegerTranslationMovesRightAndDown) {
  const std::vector<double> x = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};  // (3, 4, 1)
  AugmentDraw d;
  d.translate_x = 1;   // one pixel right
  d.translate_y = -1;  // one pixel up
  const std::vector<double> want = {0, 5, 6, 7, 0, 9, 10, 11, 0, 0, 0, 0};
  expect_image(warp(d, kNearestConstant, {3, 4, 1}, x), want, "nearest");
  expect_image(warp(d, settings(FillMode::constant, Interpolation::bilinear), {3, 4, 1}, x), want, "bilinear");
}

TEST(AugmentGeometry, QuarterTurnIsCounterClockwise) {
  const std::vector<double> x = {1, 2, 3, 4, 5, 6, 7, 8, 9};  // (3, 3, 1)
  AugmentDraw d;
  d.angle = std::numbers::pi / 2;  // factor 0.25
  const std::vector<double> want = {3, 6, 9, 2, 5, 8, 1, 4, 7};  // the right column becomes the top row
  expect_image(warp(d, kNearestConstant, {3, 3, 1}, x), want, "nearest");
  expect_image(warp(d, kBilinearReflect, {3, 3, 1}, x), want, "bilinear");
}

// Keras's fill modes on the rows a b c d = 1 2 3 4 and 5 6 7 8, shifted two pixels right (reads
// two to the left) and one pixel left (reads one beyond the right edge).
TEST(AugmentGeometry, FillModesExtendTheImageAsKerasDocuments) {
  const std::vector<double> x = {1, 2, 3, 4, 5, 6, 7, 8};  // (2, 4, 1)
  struct Case {
    FillMode mode;
    std::vector<double> right2, left1;
  };
  const std::vector<Case> cases = {
      {FillMode::reflect, {2, 1, 1, 2, 6, 5, 5, 6}, {2, 3, 4, 4, 6, 7, 8, 8}},  // b a | a b c d | d c
      {FillMode::wrap, {3, 4, 1, 2, 7, 8, 5, 6}, {2, 3, 4, 1, 6, 7, 8, 5}},     // c d | a b c d | a b
      {FillMode::constant, {9, 9, 1, 2, 9, 9, 5, 6}, {2, 3, 4, 9, 6, 7, 8, 9}}, // k k | a b c d | k k
      {FillMode::nearest, {1, 1, 1, 2, 5, 5, 5, 6}, {2, 3, 4, 4, 6, 7, 8, 8}},  // a a | a b c d | d d
  };
  for (const Case& c : cases) {
    for (Interpolation interpolation : {Interpolation::nearest, Interpolation::bilinear}) {
      const AugmentSpec s = settings(c.mode, interpolation, 9);
      const std::string what = std::string(keras_name(c.mode)) + " " + keras_name(interpolation);
      AugmentDraw right;
      right.translate_x = 2;
      expect_image(warp(right, s, {2, 4, 1}, x), c.right2, what + " right 2");
      AugmentDraw left;
      left.translate_x = -1;
      expect_image(warp(left, s, {2, 4, 1}, x), c.left1, what + " left 1");
    }
  }
  AugmentDraw down;  // reflect along the height: column 1 2 3 moved two down reads 2 1 1
  down.translate_y = 2;
  expect_image(warp(down, kBilinearReflect, {3, 1, 1}, {1, 2, 3}), {2, 1, 1}, "reflect down 2");
}

TEST(AugmentGeometry, HalfPixelShiftBlendsBilinearAndRoundsNearestAwayFromZero) {
  const std::vector<double> x = {1, 2, 3, 4};  // (1, 4, 1)
  AugmentDraw d;
  d.translate_x = 0.5;  // pixel x reads x - 0.5
  expect_image(warp(d, settings(FillMode::constant, Interpolation::bilinear), {1, 4, 1}, x), {0.5, 1.5, 2.5, 3.5},
               "bilinear constant");
  expect_image(warp(d, kNearestConstant, {1, 4, 1}, x), {0, 2, 3, 4}, "nearest: -0.5 -> -1 (fill), 0.5 -> 1");
  expect_image(warp(d, kBilinearReflect, {1, 4, 1}, x), {1, 1.5, 2.5, 3.5}, "bilinear reflect");
}

TEST(AugmentGeometry, ZoomIsAboutTheCentre) {
  AugmentDraw in;
  in.zoom_x = in.zoom_y = 0.5;  // factor -0.5: zoom in, x' = 0.5 x + 1 on 5 columns
  expect_image(warp(in, kBilinearReflect, {1, 5, 1}, {1, 2, 3, 4, 5}), {2, 2.5, 3, 3.5, 4}, "zoom in");
  AugmentDraw out;
  out.zoom_x = out.zoom_y = 2;  // factor 1: zoom out, x' = 2 x - 1 reads -1, 1, 3
  expect_image(warp(out, kNearestConstant, {3, 3, 1}, {1, 2, 3, 4, 5, 6, 7, 8, 9}), {0, 0, 0, 0, 5, 0, 0, 0, 0},
               "zoom out");
  AugmentDraw wide;
  wide.zoom_x = 0.5;  // only the width: the rows stay
  expect_image(warp(wide, kBilinearReflect, {2, 5, 1}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}),
               {2, 2.5, 3, 3.5, 4, 7, 7.5, 8, 8.5, 9}, "width only");
}

// ---- Draws --------------------------------------------------------------------------------------

LayerSpec augment_layer(LayerKind kind, std::array<double, 2> height, std::array<double, 2> width = {0, 0}) {
  LayerSpec l;
  l.kind = kind;
  l.name = keras_name(kind);
  l.augment.height = height;
  l.augment.width = width;
  return l;
}

TEST(AugmentDraws, StayInsideTheFactorRanges) {
  const LayerSpec shift = augment_layer(LayerKind::random_translation, {-0.2, 0.3}, {0.05, 0.1});
  const LayerSpec turn = augment_layer(LayerKind::random_rotation, {-0.1, 0.1});
  LayerSpec zoom = augment_layer(LayerKind::random_zoom, {-0.3, 0.1});
  zoom.augment.width_is_height = true;
  LayerSpec flip = augment_layer(LayerKind::random_flip, {0, 0});
  flip.augment.mode = FlipMode::horizontal;
  double lo[4] = {1e9, 1e9, 1e9, 1e9}, hi[4] = {-1e9, -1e9, -1e9, -1e9};
  auto note = [&](int k, double v) {
    lo[k] = std::min(lo[k], v);
    hi[k] = std::max(hi[k], v);
  };
  int flips = 0;
  const int draws = 4000;
  for (int i = 0; i < draws; ++i) {
    const DropoutContext at{11, i / 64, 0};
    const AugmentDraw s = draw_augment(shift, at, i % 64, 2, 28, 20);
    note(0, s.translate_y / 28);
    note(1, s.translate_x / 20);
    note(2, draw_augment(turn, at, i % 64, 3, 28, 20).angle / (2 * std::numbers::pi));
    const AugmentDraw z = draw_augment(zoom, at, i % 64, 4, 28, 20);
    ASSERT_EQ(z.zoom_x, z.zoom_y);
    note(3, z.zoom_y);
    const AugmentDraw f = draw_augment(flip, at, i % 64, 5, 28, 20);
    ASSERT_FALSE(f.flip_vertical);
    flips += f.flip_horizontal;
  }
  const double want_lo[4] = {-0.2, 0.05, -0.1, 0.7}, want_hi[4] = {0.3, 0.1, 0.1, 1.1};
  for (int k = 0; k < 4; ++k) {
    const double span = want_hi[k] - want_lo[k];
    EXPECT_GE(lo[k], want_lo[k]) << k;
    EXPECT_LE(hi[k], want_hi[k]) << k;
    EXPECT_LT(lo[k], want_lo[k] + 0.01 * span) << k << ": the range is not covered";
    EXPECT_GT(hi[k], want_hi[k] - 0.01 * span) << k << ": the range is not covered";
  }
  EXPECT_NEAR(double(flips) / draws, 0.5, 0.04);
}

TEST(AugmentDraws, DependOnlyOnSeedStepPositionAndLayer) {
  const LayerSpec shift = augment_layer(LayerKind::random_translation, {-0.5, 0.5}, {-0.5, 0.5});
  const DropoutContext at{3, 7, 100};
  const AugmentDraw a = draw_augment(shift, at, 5, 1, 28, 28);
  const AugmentDraw same = draw_augment(shift, DropoutContext{3, 7, 0}, 5, 1, 28, 28);  // first_sample is not read
  EXPECT_EQ(a.translate_x, same.translate_x);
  EXPECT_EQ(a.translate_y, same.translate_y);
  EXPECT_NE(a.translate_x, draw_augment(shift, at, 6, 1, 28, 28).translate_x);
  EXPECT_NE(a.translate_x, draw_augment(shift, at, 5, 2, 28, 28).translate_x);
  EXPECT_NE(a.translate_x, draw_augment(shift, DropoutContext{3, 8, 100}, 5, 1, 28, 28).translate_x);
  EXPECT_NE(a.translate_x, draw_augment(shift, DropoutContext{4, 7, 100}, 5, 1, 28, 28).translate_x);
}

// A batch split in two at any point gives the same images as the whole batch: each image's draw
// follows its global position. Evaluation is the identity.
TEST(AugmentLayer, SplitBatchesMatchTheWholeAndEvaluationIsTheIdentity) {
  LayerSpec turn = augment_layer(LayerKind::random_rotation, {-0.2, 0.2});
  const std::array<int, 3> shape{6, 5, 2};
  const std::size_t size = 60;
  const int n = 5;
  std::mt19937_64 rng(4);
  const auto x = test::cast<float>(random_vector(size * n, rng));
  Augment<float> layer(turn, shape, 1, n);
  std::vector<float> whole(x.size()), parts(x.size());
  const DropoutContext first{9, 2, 10}, second{9, 2, 12};
  layer.forward(x.data(), whole.data(), n, &first);
  layer.forward(x.data(), parts.data(), 2, &first);
  layer.forward(x.data() + 2 * size, parts.data() + 2 * size, 3, &second);
  EXPECT_EQ(whole, parts);
  EXPECT_NE(whole, x);
  std::vector<float> eval(x.size());
  layer.forward(x.data(), eval.data(), n, nullptr);
  EXPECT_EQ(eval, x);
}

// ---- Gradients ----------------------------------------------------------------------------------

// L = sum(r * layer(x)) in training at a fixed context (fixed draws): dL/dx against central differences.
void check_input_gradient(const LayerSpec& spec, std::array<int, 3> shape, std::uint64_t seed) {
  SCOPED_TRACE(describe(spec));
  const int n = 3;
  const std::size_t size = std::size_t(shape[0]) * shape[1] * shape[2];
  std::mt19937_64 rng(seed);
  auto x = random_vector(size * n, rng);
  const auto r = random_vector(size * n, rng);
  Augment<double> layer(spec, shape, 2, n);
  const DropoutContext at{seed, 1, 4};
  std::vector<double> y(x.size()), dx(x.size());
  auto loss = [&] {
    layer.forward(x.data(), y.data(), n, &at);
    return dot(y.data(), r.data(), y.size());
  };
  loss();
  std::vector<double> dy = r;
  layer.backward(x.data(), y.data(), dy.data(), dx.data(), n);
  EXPECT_GT(GradientChecker{}.check(x, dx, loss, "dx").largest, 0.1);
}

TEST(AugmentGradient, EveryLayerFillModeAndInterpolation) {
  const std::array<int, 3> shape{7, 6, 2};
  std::uint64_t seed = 20;
  LayerSpec flip = augment_layer(LayerKind::random_flip, {0, 0});
  check_input_gradient(flip, shape, ++seed);
  for (FillMode fill : {FillMode::reflect, FillMode::wrap, FillMode::constant, FillMode::nearest}) {
    for (Interpolation interpolation : {Interpolation::bilinear, Interpolation::nearest}) {
      for (LayerSpec l : {augment_layer(LayerKind::random_translation, {-0.4, 0.4}, {-0.3, 0.5}),
                          augment_layer(LayerKind::random_rotation, {-0.3, 0.3}),
                          augment_layer(LayerKind::random_zoom, {-0.5, 0.6}, {-0.4, 0.2})}) {
        l.augment = settings(fill, interpolation, 0.7);
        l.augment.height = l.kind == LayerKind::random_rotation ? std::array<double, 2>{-0.3, 0.3}
                                                                : std::array<double, 2>{-0.4, 0.5};
        l.augment.width = {-0.3, 0.4};
        check_input_gradient(l, shape, ++seed);
      }
    }
  }
}

// The augmentation layers inside a model, one after a Conv2D (so backward needs its dx): the
// model's parameter gradients in training mode against central differences; evaluation ignores them.
TEST(AugmentModel, GradientThroughAnAugmentationAfterAConv) {
  ModelSpec spec = read_keras_json(kModels + "small_augment.json");
  spec.input_shape = {12, 10, 1};
  Model<double> model(spec, 3);
  model.init(5);
  std::mt19937_64 rng(6);
  const auto x = random_vector(3 * 120, rng, 0, 1);
  const std::vector<std::uint8_t> labels = {1, 7, 3};
  const DropoutContext at{5, 2, 6};
  model.zero_grads();
  model.accumulate_gradients(x.data(), labels.data(), 3, at);
  const std::vector<double> analytic(model.grads(), model.grads() + model.num_params());
  auto loss = [&] { return model.evaluate(x.data(), labels.data(), 3, &at).loss_sum; };
  const GradientChecker checker{.step = 1e-6, .floor = 1e-2};
  for (const TensorSpec& t : model.plan().tensors) {
    const auto r = checker.check(model.params() + t.offset, analytic.data() + t.offset, t.size, loss, t.name);
    EXPECT_GT(r.largest, 1e-5) << t.name;
  }
  const double trained = loss();
  const double eval = model.evaluate(x.data(), labels.data(), 3).loss_sum;
  EXPECT_NE(trained, eval);
  spec.layers.erase(std::remove_if(spec.layers.begin(), spec.layers.end(),
                                   [](const LayerSpec& l) { return is_augmentation(l.kind); }),
                    spec.layers.end());
  Model<double> plain(spec, 3);
  std::copy(model.params(), model.params() + model.num_params(), plain.params());
  EXPECT_EQ(plain.evaluate(x.data(), labels.data(), 3).loss_sum, eval);
}

// ---- Keras JSON ---------------------------------------------------------------------------------

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(AugmentJson, Keras3FormReadsAndWritesBackAsKeras2) {
  const ModelSpec spec = read_keras_json(kModels + "small_augment.json");
  ASSERT_EQ(spec.layers.size(), 9u);
  const AugmentSpec& flip = spec.layers[0].augment;
  EXPECT_EQ(spec.layers[0].kind, LayerKind::random_flip);
  EXPECT_EQ(flip.mode, FlipMode::horizontal);
  const AugmentSpec& shift = spec.layers[1].augment;
  EXPECT_EQ(shift.height, (std::array<double, 2>{-0.1, 0.1}));
  EXPECT_EQ(shift.width, (std::array<double, 2>{-0.1, 0.1}));
  EXPECT_EQ(shift.fill_mode, FillMode::reflect);
  EXPECT_EQ(spec.layers[3].augment.fill_mode, FillMode::constant);
  EXPECT_EQ(spec.layers[3].augment.height, (std::array<double, 2>{-0.05, 0.05}));
  EXPECT_TRUE(spec.layers[6].augment.width_is_height);
  EXPECT_EQ(spec.layers[6].augment.interpolation, Interpolation::nearest);
  EXPECT_EQ(plan_model(spec).num_params, 4010u);

  const std::string written = to_keras_json(spec);
  const ModelSpec again = parse_keras_json(written, "written");
  EXPECT_EQ(first_difference(spec, again), "");
  for (std::size_t i = 0; i < spec.layers.size(); ++i) EXPECT_EQ(spec.layers[i], again.layers[i]) << i;
  const json doc = json::parse(written);
  const json& layers = doc["config"]["layers"];
  EXPECT_EQ(layers[1]["config"].dump(), R"({"dtype":"float32","mode":"horizontal","name":"flip","seed":null,"trainable":true})");
  EXPECT_EQ(layers[2]["config"]["height_factor"], 0.1);
  EXPECT_EQ(layers[4]["config"]["factor"], 0.05);
  EXPECT_EQ(layers[4]["config"]["fill_mode"], "constant");
  EXPECT_EQ(layers[7]["config"]["width_factor"], nullptr);
  EXPECT_EQ(layers[7]["config"]["interpolation"], "nearest");
}

TEST(AugmentJson, Keras2FormWithDefaultsAndPairs) {
  const ModelSpec spec = parse_keras_json(R"({"class_name": "Sequential", "config": {"name": "k2", "layers": [
      {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 28, 28, 1], "dtype": "float32", "name": "in"}},
      {"class_name": "RandomFlip", "config": {"name": "f", "trainable": true, "dtype": "float32", "seed": 3}},
      {"class_name": "RandomZoom", "config": {"name": "z", "height_factor": [0.3, -0.2], "width_factor": -0.1,
                                              "fill_mode": "wrap", "fill_value": 0.0, "interpolation": "bilinear"}},
      {"class_name": "RandomRotation", "config": {"name": "r", "factor": 1, "fill_mode": "constant", "fill_value": 2.5}},
      {"class_name": "Flatten", "config": {"name": "flat"}},
      {"class_name": "Dense", "config": {"name": "d", "units": 10}}]}})", "k2");
  EXPECT_EQ(spec.layers[0].augment.mode, FlipMode::horizontal_and_vertical);  // Keras's default
  EXPECT_EQ(spec.layers[1].augment.height, (std::array<double, 2>{-0.2, 0.3}));  // sorted, as Keras 3
  EXPECT_EQ(spec.layers[1].augment.width, (std::array<double, 2>{-0.1, 0.1}));   // |f|, as Keras 3
  EXPECT_FALSE(spec.layers[1].augment.width_is_height);
  EXPECT_EQ(spec.layers[2].augment.height, (std::array<double, 2>{-1, 1}));
  EXPECT_EQ(spec.layers[2].augment.fill_value, 2.5);
  EXPECT_EQ(spec.layers[2].augment.interpolation, Interpolation::bilinear);
  const ModelSpec again = parse_keras_json(to_keras_json(spec), "again");
  for (std::size_t i = 0; i < spec.layers.size(); ++i) EXPECT_EQ(spec.layers[i], again.layers[i]) << i;
}

// small_augment.json with one change; parsing and planning must fail naming layer, field and value.
void expect_refused(const std::function<void(json&)>& edit, const std::string& what) {
  json doc = json::parse(read_text(kModels + "small_augment.json"));
  edit(doc);
  try {
    plan_model(parse_keras_json(doc.dump(1), "aug.json"));
    ADD_FAILURE() << "accepted; expected: " << what;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Exit::usage);
    EXPECT_NE(std::string(e.what()).find("aug.json: " + what), std::string::npos) << e.what();
  }
}

json& config(json& doc, int layer) { return doc["config"]["layers"][layer]["config"]; }

TEST(AugmentJson, RefusesBadSettingsNamingLayerFieldAndValue) {
  expect_refused([](json& d) { config(d, 1)["mode"] = "diagonal"; },
                 "layer 1 'flip' (RandomFlip): field 'mode': \"diagonal\" is not supported (horizontal, vertical, "
                 "horizontal_and_vertical)");
  expect_refused([](json& d) { config(d, 2)["height_factor"] = 1.5; },
                 "layer 2 'shift' (RandomTranslation): field 'height_factor': 1.5 is out of range (each value in [-1, 1])");
  expect_refused([](json& d) { config(d, 2)["width_factor"] = {-0.1, 1.2}; },
                 "layer 2 'shift' (RandomTranslation): field 'width_factor': [-0.1, 1.2] is out of range");
  expect_refused([](json& d) { config(d, 4)["factor"] = {0.1, 0.2, 0.3}; },
                 "layer 4 'turn' (RandomRotation): field 'factor': [0.1, 0.2, 0.3] is not supported (a number or a list "
                 "of two numbers, each in [-1, 1])");
  expect_refused([](json& d) { config(d, 7)["height_factor"] = "0.1"; },
                 "layer 7 'zoom' (RandomZoom): field 'height_factor': \"0.1\" is not supported");
  expect_refused([](json& d) { config(d, 4)["fill_mode"] = "mirror"; },
                 "layer 4 'turn' (RandomRotation): field 'fill_mode': \"mirror\" is not supported (reflect, wrap, "
                 "constant, nearest)");
  expect_refused([](json& d) { config(d, 7)["interpolation"] = "bicubic"; },
                 "layer 7 'zoom' (RandomZoom): field 'interpolation': \"bicubic\" is not supported (bilinear, nearest)");
  expect_refused([](json& d) { config(d, 2).erase("width_factor"); },
                 "layer 2 'shift' (RandomTranslation): field 'width_factor': missing");
  expect_refused([](json& d) { config(d, 2)["fill_value"] = "zero"; },
                 "layer 2 'shift' (RandomTranslation): field 'fill_value': \"zero\" is not a finite number");
  expect_refused([](json& d) { config(d, 1)["data_format"] = "channels_first"; },
                 "layer 1 'flip' (RandomFlip): field 'data_format': \"channels_first\" is not supported (only channels_last)");
  expect_refused([](json& d) { config(d, 1)["value_range"] = {0, 255}; },
                 "layer 1 'flip' (RandomFlip): field 'value_range': [0, 255] is not supported");
  expect_refused(
      [](json& d) {
        json& layers = d["config"]["layers"];
        layers.push_back(layers[1]);
        layers.back()["config"]["name"] = "late_flip";
      },
      "layer 10 'late_flip' (RandomFlip): field 'mode': \"horizontal\" needs an input of (height, width, channels), but "
      "the input is (10,) (put augmentation layers before Flatten)");
  expect_refused(
      [](json& d) {
        json& layers = d["config"]["layers"];
        json zoom = layers[7];
        layers.erase(7);
        layers.push_back(zoom);
      },
      "layer 9 'zoom' (RandomZoom): field 'height_factor': [-0.1, 0.1] needs an input of (height, width, channels), but "
      "the input is (10,)");
}

}  // namespace
}  // namespace fmnist
