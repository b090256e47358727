// fmnist_inspect --compare (src/checkpoint/compare.cpp): the relative difference per tensor (its
// largest |a - b| over its largest |a|), tolerance 0 meaning the same bytes, and each way two
// checkpoints can differ (a tensor, the model, the optimizer, the step count) named in the text.
#include <cmath>
#include <limits>

#include "fmnist/checkpoint_compare.hpp"
#include "test_checkpoint_helpers.hpp"

namespace fmnist::test {
namespace {

TEST(RelativeDifference, LargestDifferenceOverLargestMagnitude) {
  const float a[] = {2, -4, 1}, b[] = {2.5f, -4, 0};
  EXPECT_DOUBLE_EQ(relative_difference(a, b, 3, 0.5), 1.0 / 4);  // |1 - 0| over |-4|
  const float zeros[] = {0, 0}, small[] = {0, 0.5f};
  EXPECT_DOUBLE_EQ(relative_difference(zeros, small, 2, 1), 0.5);  // all-zero a: the difference itself
  const float plus[] = {0.0f}, minus[] = {-0.0f};
  EXPECT_EQ(relative_difference(plus, minus, 1, 0), 1);  // tolerance 0: other bytes differ
  EXPECT_EQ(relative_difference(plus, minus, 1, 1e-6), 0);
}

TEST(CompareCheckpoints, SameCheckpointsAgreeExactly) {
  const Checkpoint a = sample_checkpoint(2, true);
  const Comparison c = compare_checkpoints(a, a, 0);
  EXPECT_TRUE(c.same());
  EXPECT_EQ(c.tensors.size(), 11u);  // 10 weight tensors and the velocity
  EXPECT_EQ(c.tensors.back().name, "optimizer/velocity");
  EXPECT_NE(comparison_text(c, "a.h5", "b.h5").find("Comparing a.h5 with b.h5 (tolerance 0)"), std::string::npos);
}

TEST(CompareCheckpoints, ATensorBeyondTheToleranceDiffers) {
  const Checkpoint a = sample_checkpoint(2, true);
  Checkpoint b = a;
  const TensorSpec dense = plan_model(a.model).tensors[6];  // dense/kernel:0, largest |a| 500/1024
  b.weights[dense.offset] += 0.001f;
  const Comparison loose = compare_checkpoints(a, b, 1e-2), tight = compare_checkpoints(a, b, 1e-3);
  EXPECT_TRUE(loose.same());
  EXPECT_FALSE(tight.same());
  EXPECT_NEAR(tight.tensors[6].difference, 0.001 / (500.0 / 1024), 1e-6);
  const std::string text = comparison_text(tight, "a.h5", "b.h5");
  EXPECT_NE(text.find("dense/kernel:0"), std::string::npos);
  EXPECT_NE(text.find("DIFFERS"), std::string::npos) << text;
  EXPECT_NE(text.find("They differ"), std::string::npos) << text;
}

TEST(CompareCheckpoints, ModelOptimizerAndStepsAreNamed) {
  const Checkpoint a = sample_checkpoint(2, true);
  Checkpoint other_model = a;
  other_model.model.layers[2].units = 48;
  EXPECT_NE(compare_checkpoints(a, other_model, 1).mismatch.find("model: layer"), std::string::npos);
  Checkpoint adam = a;
  adam.optimizer.kind = OptimizerKind::adam;
  EXPECT_EQ(compare_checkpoints(a, adam, 1).mismatch, "optimizer: rmsprop against adam");
  Checkpoint later = a;
  later.training.step += 1;
  const Comparison c = compare_checkpoints(a, later, 1);
  EXPECT_FALSE(c.same());
  EXPECT_EQ(c.mismatch, "steps: 175 against 176");  // 2 epochs of 84 steps and 7 (test_checkpoint_helpers.hpp)
}

}  // namespace
}  // namespace fmnist::test
