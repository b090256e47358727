// Tests of the model spec's Keras JSON: the tutorial's model in the Keras 2 (dict and list) and
// Keras 3 forms parses to the same spec; writing a spec back and reading it again gives it back;
// the written form has Keras 2's fields; training_config; and every kind of bad JSON is refused
// with a message naming the layer, the field and the value.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "fmnist/error.hpp"
#include "fmnist/model_spec.hpp"
#include "expect_error.hpp"
#include "test_nn_specs.hpp"

namespace fmnist {
namespace {

using nlohmann::json;
using test::expect_error;

const std::string kModels = std::string(FMNIST_FIXTURES) + "/models/";

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Same architecture and the same names.
void expect_same_spec(const ModelSpec& a, const ModelSpec& b) {
  EXPECT_EQ(first_difference(a, b), "");
  ASSERT_EQ(a.layers.size(), b.layers.size());
  for (std::size_t i = 0; i < a.layers.size(); ++i) EXPECT_EQ(a.layers[i], b.layers[i]) << i;
  EXPECT_EQ(a.name, b.name);
}

TEST(KerasJson, TheTutorialInEveryFormIsTheDefaultSpec) {
  const ModelSpec want = tutorial_model_spec();
  const ModelSpec k2 = read_keras_json(kModels + "tutorial_keras2.json");
  const ModelSpec list = read_keras_json(kModels + "tutorial_keras2_list.json");
  const ModelSpec k3 = read_keras_json(kModels + "tutorial_keras3.json");
  for (const ModelSpec* s : {&k2, &list, &k3}) expect_same_spec(*s, want);
  EXPECT_EQ(k2.input_name, "conv2d_input");
  EXPECT_EQ(k3.input_name, "input_layer");
  EXPECT_TRUE(k2.explicit_input);
  EXPECT_FALSE(list.explicit_input);  // Keras 2.2: batch_input_shape on the first Conv2D
  EXPECT_EQ(k2.source, kModels + "tutorial_keras2.json");
  EXPECT_EQ(plan_model(k3).num_params, plan_model(tutorial_model_spec()).num_params);
}

TEST(KerasJson, WritingBackAndReadingAgainGivesTheSameSpec) {
  for (const ModelSpec& spec : {tutorial_model_spec(), test::wide_same_dropout(), test::strided_average(), test::mlp(),
                                read_keras_json(kModels + "small_dropout.json")}) {
    const std::string text = to_keras_json(spec);
    const ModelSpec back = parse_keras_json(text, "written");
    expect_same_spec(back, spec);
    EXPECT_EQ(back.input_name, spec.input_name);
    EXPECT_EQ(back.input_shape, spec.input_shape);
    EXPECT_EQ(to_keras_json(back), text);  // and the text is stable
  }
}

// The form written: Keras 2's, which Keras 2.x, Keras 3's legacy loader and TensorFlow.js read.
TEST(KerasJson, WrittenFormIsKeras2WithAnInputLayer) {
  const nlohmann::ordered_json doc = nlohmann::ordered_json::parse(to_keras_json(read_keras_json(kModels + "small_dropout.json")));
  EXPECT_EQ(doc["class_name"], "Sequential");
  EXPECT_FALSE(doc.contains("module"));
  const auto& layers = doc["config"]["layers"];
  EXPECT_EQ(doc["config"]["name"], "small_dropout");
  EXPECT_EQ(layers[0]["class_name"], "InputLayer");
  EXPECT_EQ(layers[0]["config"].dump(), R"({"batch_input_shape":[null,28,28,1],"dtype":"float32","sparse":false,"name":"pixels"})");
  const auto& conv = layers[1]["config"];
  std::vector<std::string> keys;
  for (const auto& [k, v] : conv.items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"name", "trainable", "dtype", "filters", "kernel_size", "strides", "padding",
                                            "data_format", "dilation_rate", "activation", "use_bias", "kernel_initializer",
                                            "bias_initializer", "kernel_regularizer", "bias_regularizer",
                                            "activity_regularizer", "kernel_constraint", "bias_constraint"}));
  EXPECT_EQ(conv["dtype"], "float32");
  EXPECT_EQ(conv["padding"], "same");
  EXPECT_EQ(conv["strides"].dump(), "[2,2]");
  EXPECT_EQ(conv["kernel_initializer"].dump(), R"({"class_name":"HeNormal","config":{"seed":null}})");
  EXPECT_EQ(layers[3]["config"]["rate"], 0.25);
  EXPECT_EQ(layers[3]["config"]["seed"], nullptr);  // our masks come from --seed
  EXPECT_EQ(layers[6]["config"]["strides"].dump(), "[2,2]");  // null in the file: pool_size
}

TEST(KerasJson, TrainingConfigNamesTheLossByTheOutput) {
  const KerasOptimizerConfig rmsprop{"RMSprop", {{"learning_rate", 0.001}, {"rho", 0.9}}, {{"centered", false}}};
  const json probabilities = json::parse(keras_training_config(tutorial_model_spec(), rmsprop));
  EXPECT_EQ(probabilities["loss"], "categorical_crossentropy");
  EXPECT_EQ(probabilities["metrics"], json::parse(R"(["accuracy"])"));
  EXPECT_EQ(probabilities["loss_weights"], nullptr);
  EXPECT_TRUE(probabilities.contains("weighted_metrics"));
  EXPECT_EQ(probabilities["optimizer_config"], json::parse(R"({"class_name": "RMSprop", "config": {"name": "RMSprop",
      "learning_rate": 0.001, "rho": 0.9, "centered": false}})"));
  const json logits = json::parse(keras_training_config(test::strided_average(), rmsprop));
  EXPECT_EQ(logits["loss"]["class_name"], "CategoricalCrossentropy");
  EXPECT_EQ(logits["loss"]["config"]["from_logits"], true);
}

TEST(KerasJson, UnnamedLayersGetKerasNames) {
  const ModelSpec spec = parse_keras_json(R"({"class_name": "Sequential", "config": {"layers": [
      {"class_name": "Flatten", "config": {"batch_input_shape": [null, 28, 28, 1]}},
      {"class_name": "Dense", "config": {"units": 20, "name": "dense"}},
      {"class_name": "Dense", "config": {"units": 10}}]}})", "unnamed");
  EXPECT_EQ(spec.layers[0].name, "flatten");
  EXPECT_EQ(spec.layers[2].name, "dense_1");
  EXPECT_EQ(spec.layers[2].activation, Activation::linear);
}

// ---- Refusals -----------------------------------------------------------------------------------

// The tutorial's Keras 2 JSON with one change applied by `edit`.
std::string edited(const std::function<void(json&)>& edit) {
  json doc = json::parse(read_text(kModels + "tutorial_keras2.json"));
  edit(doc);
  return doc.dump(1);
}

// Parsing (and planning, and the data check) must fail with Exit::usage and a message holding `what`.
void expect_refused(const std::string& text, const std::string& what) {
  const std::string message = expect_error(Exit::usage, [&] {
    require_data_shape(plan_model(parse_keras_json(text, "my.json")), {28, 28, 1}, 10);
  });
  EXPECT_NE(message.find(what), std::string::npos) << "expected: " << what << "\ngot: " << message;
  EXPECT_EQ(message.rfind("my.json: ", 0), 0u) << message;
}

json& config(json& doc, int layer) { return doc["config"]["layers"][layer]["config"]; }

TEST(KerasJson, RefusesWhatItCannotTrainNamingLayerFieldAndValue) {
  expect_refused(edited([](json& d) {
                   config(d, 3)["dilation_rate"] = {2, 2};
                   config(d, 3)["strides"] = 2;
                 }),
                 "my.json: layer 3 'conv2d_1' (Conv2D): field 'dilation_rate': [2, 2] is not supported with strides "
                 "[2, 2] (Keras refuses strides above 1 with a dilation_rate above 1)");
  expect_refused(edited([](json& d) { config(d, 5)["dilation_rate"] = 3; }),
                 "layer 5 'conv2d_2' (Conv2D): field 'kernel_size': [3, 3] dilated by [3, 3] spans 7x7 pixels, more "
                 "than the input (5, 5, 64)");
  expect_refused(edited([](json& d) { config(d, 3)["groups"] = 2; }),
                 "layer 3 'conv2d_1' (Conv2D): field 'groups': 2 is not supported (only 1)");
  expect_refused(edited([](json& d) { d["config"]["layers"][2]["class_name"] = "LSTM"; }),
                 "layer 2 'max_pooling2d' (LSTM): field 'class_name': \"LSTM\" is not supported (InputLayer, Activation");
  expect_refused(edited([](json& d) { config(d, 3).erase("filters"); }), "layer 3 'conv2d_1' (Conv2D): field 'filters': missing");
  expect_refused(edited([](json& d) { config(d, 3)["filters"] = "64"; }), "field 'filters': \"64\" is not an integer");
  expect_refused(edited([](json& d) { config(d, 7)["units"] = 64.5; }), "field 'units': 64.5 is not an integer");
  expect_refused(edited([](json& d) { config(d, 7)["use_bias"] = "yes"; }), "field 'use_bias': \"yes\" is not true or false");
  expect_refused(edited([](json& d) { config(d, 5)["kernel_size"] = {7, 7}; }),
                 "layer 5 'conv2d_2' (Conv2D): field 'kernel_size': [7, 7] is larger than the input (5, 5, 64)");
  expect_refused(edited([](json& d) { config(d, 5)["kernel_size"] = {3}; }),
                 "field 'kernel_size': [3] is not an integer or a list of two integers");
  expect_refused(edited([](json& d) { config(d, 1)["activation"] = "softmax"; }),
                 "layer 1 'conv2d' (Conv2D): field 'activation': \"softmax\" is only supported on the last layer");
  expect_refused(edited([](json& d) { config(d, 7)["activation"] = "mish"; }),
                 "field 'activation': \"mish\" is not supported (linear, relu, softmax, relu6, leaky_relu, elu,");
  expect_refused(edited([](json& d) { config(d, 1)["data_format"] = "channels_first"; }),
                 "field 'data_format': \"channels_first\" is not supported (only channels_last)");
  expect_refused(edited([](json& d) { config(d, 1)["padding"] = "causal"; }), "field 'padding': \"causal\" is not supported (valid, same)");
  expect_refused(edited([](json& d) { config(d, 7)["kernel_regularizer"] = {{"class_name", "L3"}}; }),
                 "field 'kernel_regularizer': {\"class_name\":\"L3\"} is not supported (a regularizer of class L1, L2 or L1L2)");
  expect_refused(edited([](json& d) { config(d, 7)["activity_regularizer"] = {{"class_name", "L2"}}; }),
                 "field 'activity_regularizer': {\"class_name\":\"L2\"} is not supported");
  expect_refused(edited([](json& d) { config(d, 7)["kernel_initializer"] = {{"class_name", "Identity"}}; }),
                 "field 'kernel_initializer': {\"class_name\":\"Identity\"} is not supported (glorot_uniform, he_uniform, "
                 "he_normal, zeros, ones, glorot_normal, lecun_uniform, lecun_normal, random_normal, random_uniform, "
                 "truncated_normal, orthogonal, constant)");
  expect_refused(edited([](json& d) { config(d, 7)["bias_initializer"] = "orthogonal"; }),
                 "field 'bias_initializer': \"orthogonal\" is not supported (glorot_uniform, he_uniform, he_normal, zeros, "
                 "ones, glorot_normal, lecun_uniform, lecun_normal, random_normal, random_uniform, truncated_normal, constant)");
  expect_refused(edited([](json& d) { config(d, 7)["trainable"] = false; }), "field 'trainable': false is not supported");
  expect_refused(edited([](json& d) { config(d, 7)["dtype"] = "float16"; }), "field 'dtype': \"float16\" is not supported (only float32)");
  expect_refused(edited([](json& d) { config(d, 7)["unit"] = 3; }), "layer 7 'dense' (Dense): field 'unit': 3 is not supported");
  expect_refused(edited([](json& d) { config(d, 4)["name"] = "conv2d"; }), "field 'name': 'conv2d' is used by another layer");
  expect_refused(edited([](json& d) { config(d, 4)["name"] = "a/b"; }), "field 'name': 'a/b' is not a usable name");
  expect_refused(edited([](json& d) { config(d, 2)["strides"] = 0; }), "field 'strides': 0 is out of range (1 to 1024)");
  expect_refused(edited([](json& d) { config(d, 7)["units"] = 100000; }), "field 'units': 100000 is out of range (1 to 16384)");
}

TEST(KerasJson, RefusesModelsThatDoNotFitTheData) {
  expect_refused(edited([](json& d) { config(d, 0)["batch_input_shape"] = {nullptr, 32, 32, 3}; }),
                 "my.json: layer 0 'conv2d_input' (InputLayer): input shape (32, 32, 3) does not match the data's (28, 28, 1)");
  expect_refused(R"({"class_name": "Sequential", "config": [{"class_name": "Flatten", "config": {"name": "flat",
                   "batch_input_shape": [null, 28, 28, 3]}}, {"class_name": "Dense", "config": {"units": 10}}]})",
                 "my.json: layer 0 'flat' (Flatten): input shape (28, 28, 3) does not match the data's (28, 28, 1)");
  expect_refused(edited([](json& d) { config(d, 8)["units"] = 12; }),
                 "my.json: layer 8 'dense_1' (Dense): field 'units': 12 does not match the data's 10 classes");
  expect_refused(edited([](json& d) { config(d, 0)["batch_input_shape"] = {nullptr, 784}; }),
                 "field 'batch_input_shape': [null, 784] is not supported (an image input [null, height, width, channels] is needed)");
  expect_refused(edited([](json& d) { d["config"]["layers"].erase(6); }),  // no Flatten
                 "layer 6 'dense' (Dense): field 'units': 64 needs a flat input, but the input is (3, 3, 64)");
  expect_refused(edited([](json& d) { d["config"]["layers"].erase(8); d["config"]["layers"].erase(7); d["config"]["layers"].erase(6); }),
                 "the model must end in a flat output of class scores");
}

TEST(KerasJson, RefusesMalformedAndAbsurdDocuments) {
  expect_refused("{\"class_name\": \"Sequential\",\n \"config\": {\"layers\": [}\n}", "my.json: line 2, column 24: malformed JSON: ");
  expect_refused("", "my.json: line 1, column 1: malformed JSON");
  expect_refused("[1, 2]", "the JSON is array, not a Keras model object");
  expect_refused(R"({"class_name": "Subclassed", "config": {}})",
                 "field 'class_name': \"Subclassed\" is not supported (Sequential, or Functional or Model)");
  expect_refused(R"({"class_name": "Functional", "config": {}})", "field 'config.layers': missing");
  expect_refused(R"({"class_name": "Sequential"})", "field 'config': missing");
  expect_refused(R"({"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense", "config": {"units": 10}}]}})",
                 "no input shape");
  expect_refused(edited([](json& d) { d["config"]["layers"][0].erase("config"); }),
                 "layer 0 (InputLayer): field 'config': missing");
  expect_refused(edited([](json& d) { std::swap(d["config"]["layers"][0], d["config"]["layers"][1]); }),
                 "field 'class_name': \"InputLayer\" is only supported as the first layer");
  json many = json::parse(read_text(kModels + "tutorial_keras2.json"));
  json& layers = many["config"]["layers"];
  const json dropout = {{"class_name", "Dropout"}, {"config", {{"rate", 0.1}}}};
  while (layers.size() < 10000) layers.insert(layers.begin() + 7, dropout);
  expect_refused(many.dump(), "10000 layers is more than the limit of 256");
  ModelSpec huge = test::mlp();
  huge.layers[1].units = 16384;
  huge.layers.insert(huge.layers.begin() + 2, test::dense("dense_wide", 16384, Activation::relu));
  expect_refused(to_keras_json(huge), "makes more than the limit of 33,554,432 parameters");
}

TEST(KerasJson, UnreadableFileIsAUsageError) {
  EXPECT_EQ(expect_error(Exit::usage, [] { read_keras_json("/nonexistent/my.json"); }),
            "--model /nonexistent/my.json: cannot open (no such file)");
}

TEST(ModelSpec, FirstDifferenceNamesTheLayer) {
  ModelSpec a = tutorial_model_spec(), b = tutorial_model_spec();
  a.source = "ckpt.h5";
  b.source = "my.json";
  EXPECT_EQ(first_difference(a, b), "");
  b.layers[2].name = "renamed";  // names are not the architecture
  EXPECT_EQ(first_difference(a, b), "");
  b.layers[2].units = 32;
  EXPECT_EQ(first_difference(a, b),
            "layer 3 'conv2d_1' (Conv2D) is Conv2D 64 3x3 stride 1x1 valid relu glorot_uniform in ckpt.h5 but "
            "Conv2D 32 3x3 stride 1x1 valid relu glorot_uniform in my.json");
  b = test::mlp();
  b.source = "my.json";
  EXPECT_NE(first_difference(a, b).find("layer 1 'conv2d' (Conv2D) is Conv2D 32"), std::string::npos);
}

}  // namespace
}  // namespace fmnist
