// A checkpoint of a model with BatchNormalization round-trips: its Keras JSON (resolved axes),
// every weight under Keras's names (gamma, beta, moving_mean, moving_variance), and the weight_names
// lists Keras's loader reads; the spec read back is the one written.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fmnist/model_spec.hpp"
#include "test_checkpoint_helpers.hpp"

namespace fmnist {
namespace {

TEST(CheckpointBatchNorm, RoundTripsSpecAndEveryWeight) {
  const ModelSpec model = read_keras_json(std::string(FMNIST_FIXTURES) + "/models/small_bn.json");
  const Checkpoint written = test::sample_checkpoint(2, false, model);
  test::TempDir dir;
  const std::string path = dir.path() + "/bn.h5";
  write_checkpoint(path, written);
  const Checkpoint read = read_checkpoint(path);
  EXPECT_EQ(first_difference(read.model, model), "");
  EXPECT_EQ(read.model.layers, model.layers);
  EXPECT_EQ(read.weights, written.weights);
  const ModelPlan plan = plan_model(read.model);
  EXPECT_EQ(plan.num_params, 5390u);
  EXPECT_EQ(plan.trainable_params, 5330u);
  std::vector<std::string> names;
  for (const TensorSpec& t : plan.tensors)
    if (t.layer == 1) names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{"batch_normalization/gamma:0", "batch_normalization/beta:0",
                                             "batch_normalization/moving_mean:0", "batch_normalization/moving_variance:0"}));
  const nlohmann::json config = nlohmann::json::parse(to_keras_json(read.model));
  EXPECT_EQ(config["config"]["layers"][2]["config"]["axis"], 3);
  EXPECT_EQ(config["config"]["layers"][10]["config"]["axis"], 1);
}

}  // namespace
}  // namespace fmnist
