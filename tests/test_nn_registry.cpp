// Tests that walk the layer registry, so that a new kind is tested by construction: its row is in
// order with unique Keras names, and its example (test_nn_specs.hpp) reads, writes back and reads
// again as itself, plans, describes itself, tells a changed field apart and has gradients that
// match central differences (double). Also the enum name tables.
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <stdexcept>
#include <string>

#include "fmnist/model.hpp"
#include "grad_check.hpp"
#include "registry.hpp"
#include "test_nn_specs.hpp"

namespace fmnist {
namespace {

std::vector<LayerKind> all_kinds() {
  std::vector<LayerKind> kinds;
  for (std::size_t k = 0; k < kLayerKindCount; ++k) kinds.push_back(static_cast<LayerKind>(k));
  return kinds;
}

const test::KindExample& example_of(LayerKind kind) {
  for (const test::KindExample& e : test::kind_examples()) {
    if (e.kind == kind) return e;
  }
  throw std::runtime_error(std::string("no example of ") + keras_name(kind) + " in kind_examples() (test_nn_specs.hpp)");
}

TEST(LayerRegistry, OneRowPerKindInOrderWithUniqueNames) {
  std::set<std::string> classes, bases;
  for (LayerKind kind : all_kinds()) {
    const LayerKindRow& row = kind_row(kind);
    EXPECT_EQ(row.kind, kind);
    EXPECT_STREQ(keras_name(kind), row.keras_class);
    EXPECT_TRUE(classes.insert(row.keras_class).second) << row.keras_class;
    EXPECT_TRUE(bases.insert(row.base_name).second) << row.base_name;
    EXPECT_TRUE(row.read && row.write && row.shape && row.make_float && row.make_double) << row.keras_class;
  }
  EXPECT_EQ(classes.size(), kLayerKindCount);
  // The lookup refuses what is not a kind (the guard that also catches a table out of order).
  EXPECT_THROW(kind_row(LayerKind::count), std::logic_error);
  EXPECT_STREQ(keras_name(LayerKind::count), "?");
}

TEST(LayerRegistry, EveryKindHasAnExample) {
  for (LayerKind kind : all_kinds()) EXPECT_NO_THROW(example_of(kind));
}

TEST(LayerRegistry, EveryKindReadsWritesAndReadsBackTheSameSpec) {
  for (LayerKind kind : all_kinds()) {
    const test::KindExample& e = example_of(kind);
    SCOPED_TRACE(keras_name(kind));
    const ModelSpec spec = parse_keras_json(test::kind_example_json(e, e.config), "example.json");
    const LayerSpec& l = spec.layers[test::kind_example_index(e)];
    ASSERT_EQ(l.kind, kind);
    const std::string text = to_keras_json(spec);
    const ModelSpec back = parse_keras_json(text, "written");
    EXPECT_EQ(back.layers, spec.layers);
    EXPECT_EQ(to_keras_json(back), text);  // and the text is stable
    if (*e.changed == '\0') continue;
    // The negative control: one field changed is another spec, which describe tells apart.
    const ModelSpec changed = parse_keras_json(test::kind_example_json(e, e.changed), "changed.json");
    EXPECT_NE(changed.layers[test::kind_example_index(e)], l);
    EXPECT_NE(describe(changed.layers[test::kind_example_index(e)]), describe(l));
    EXPECT_NE(first_difference(spec, changed), "");
  }
}

TEST(LayerRegistry, EveryKindPlansAndDescribesItself) {
  for (LayerKind kind : all_kinds()) {
    const test::KindExample& e = example_of(kind);
    SCOPED_TRACE(keras_name(kind));
    const ModelPlan plan = plan_model(parse_keras_json(test::kind_example_json(e, e.config), "example.json"));
    const std::size_t i = test::kind_example_index(e);
    EXPECT_EQ(plan.layers[i].output_shape, e.output);
    EXPECT_EQ(plan.layers[i].params, e.params);
    for (std::size_t t : plan.layers[i].tensors) {
      EXPECT_EQ(plan.tensors[t].layer, i);
      EXPECT_EQ(plan.tensors[t].name.rfind("example/", 0), 0u) << plan.tensors[t].name;
    }
    EXPECT_EQ(describe(plan.spec.layers[i]), e.describe);
    EXPECT_NE(model_summary(plan).find(std::string("example (") + keras_name(kind) + ")"), std::string::npos);
  }
}

// The kind's layer object against central differences of the loss sum in double, in training mode
// (Dropout's masks and the augmentations' draws fixed by the context); its float object computes
// the same outputs.
TEST(LayerRegistry, EveryKindTrainsWithCorrectGradients) {
  for (LayerKind kind : all_kinds()) {
    const test::KindExample& e = example_of(kind);
    SCOPED_TRACE(keras_name(kind));
    const ModelSpec spec = parse_keras_json(test::kind_example_json(e, e.config), "example.json");
    const int n = 3;
    Model<double> model(spec, n);
    model.init(11);
    const auto x = test::random_images(spec, n, 12);
    Model<float> single(spec, n);  // the float factory builds the same function
    single.init(11);
    const std::vector<float> xf = test::cast<float>(x);
    const float* yf = single.forward(xf.data(), n);
    const double* yd = model.forward(x.data(), n);
    for (int i = 0; i < n * 4; ++i) EXPECT_NEAR(yf[i], yd[i], 1e-4 * (1 + std::abs(yd[i]))) << i;
    const std::vector<std::uint8_t> labels = {0, 3, 1};
    const DropoutContext at{5, 1, 2};
    model.zero_grads();
    model.accumulate_gradients(x.data(), labels.data(), n, at);
    const std::vector<double> analytic(model.grads(), model.grads() + model.num_params());
    auto loss = [&] { return model.evaluate(x.data(), labels.data(), n, &at).loss_sum; };
    const test::GradientChecker checker{.step = 1e-6, .floor = 1e-2, .sample = 40};
    for (const TensorSpec& t : model.plan().tensors) {
      const auto r = checker.check(model.params() + t.offset, analytic.data() + t.offset, t.size, loss, t.name, 13);
      if (t.name.find("kernel") != std::string::npos) {  // (a bias before a BatchNormalization has none)
        EXPECT_GT(r.largest, 1e-5) << t.name << ": the sample saw no gradient at all";
      }
    }
  }
}

// Each enum's Keras names come from its one table, value by value.
TEST(KerasNames, EveryValueHasItsName) {
  EXPECT_STREQ(keras_name(Activation::softmax), "softmax");
  EXPECT_STREQ(keras_name(Padding::same), "same");
  EXPECT_STREQ(keras_name(Initializer::he_normal), "he_normal");
  EXPECT_STREQ(keras_name(FlipMode::horizontal_and_vertical), "horizontal_and_vertical");
  EXPECT_STREQ(keras_name(FillMode::nearest), "nearest");
  EXPECT_STREQ(keras_name(Interpolation::bilinear), "bilinear");
  EXPECT_STREQ(keras_name(Padding::count), "?");  // not a value
  std::set<std::string> names;
  for (std::size_t i = 0; i < static_cast<std::size_t>(Initializer::count); ++i)
    names.insert(keras_name(static_cast<Initializer>(i)));
  EXPECT_EQ(names.size(), static_cast<std::size_t>(Initializer::count));
}

}  // namespace
}  // namespace fmnist
