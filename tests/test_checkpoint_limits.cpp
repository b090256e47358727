// What a checkpoint may declare: /training's counters checked against each other and the run's
// epoch (negative, huge or inconsistent values are refused, named), declared sizes against the
// file (a dataset whose chunks were never written, a model larger than the file, strings and
// lists past their limits), attribute types, and the summary reader. read_checkpoint refuses at the
// first problem, verify_checkpoint reports the same problem; nothing is allocated from a bad size.
#include <sys/stat.h>

#include "../src/checkpoint/probe.hpp"
#include "test_checkpoint_helpers.hpp"

namespace fmnist::test {
namespace {

// The file after `edit`: read_checkpoint's message (Exit::checkpoint), which verify reports too.
template <typename Edit>
std::string refused(const std::string& name, Edit&& edit, int epochs = 2) {
  TempDir dir;
  const std::string path = dir.file(name);
  write_checkpoint(path, sample_checkpoint(epochs, false));
  edit(path);
  const std::string message = expect_error(Exit::checkpoint, [&] { read_checkpoint(path); });
  const auto problems = verify_checkpoint(path);
  EXPECT_EQ(problems.empty() ? "" : problems[0], message);
  EXPECT_EQ(message.rfind(path + ": ", 0), 0u) << message;
  return message.substr(path.size() + 2);
}

void set(const std::string& path, const char* name, std::int64_t value) { probe::replace_attribute(path, "/training", name, value); }

TEST(CheckpointLimits, StepInEpochOutsideAnEpoch) {
  // 42,000 samples in batches of 500: 84 steps per epoch.
  EXPECT_EQ(refused("a.h5", [](const std::string& p) { set(p, "step_in_epoch", -100000000); }),
            "/training: attribute step_in_epoch: -100000000 is out of range (0 to 83: the steps of an epoch: 42000 "
            "training samples in batches of 500)");
  EXPECT_NE(refused("b.h5", [](const std::string& p) { set(p, "step_in_epoch", 84); }).find("84 is out of range (0 to 83"),
            std::string::npos);
}

TEST(CheckpointLimits, EpochAndStepMustAgree) {
  EXPECT_EQ(refused("a.h5", [](const std::string& p) { set(p, "epoch", 1000000000000); }),
            "/training: attribute step: 175 does not follow from epoch 1000000000000 and step_in_epoch 7 at 84 steps "
            "per epoch (expected 84000000000007)");
  EXPECT_NE(refused("b.h5", [](const std::string& p) { set(p, "step", std::int64_t{1} << 62); }).find("attribute step: 4611686018427387904 does not follow"),
            std::string::npos);
  EXPECT_NE(refused("c.h5", [](const std::string& p) { set(p, "epoch", -1); }).find("attribute epoch: -1 is out of range"),
            std::string::npos);
  EXPECT_NE(refused("d.h5", [](const std::string& p) { set(p, "epoch", std::int64_t{1} << 62); }).find("attribute epoch: "),
            std::string::npos);  // epoch x steps per epoch would overflow: refused before multiplying
}

TEST(CheckpointLimits, DivisorsAndSumsAreChecked) {
  EXPECT_NE(refused("a.h5", [](const std::string& p) { set(p, "batch_size", 0); }).find("batch_size: 0 is out of range (1 to"),
            std::string::npos);
  EXPECT_NE(refused("b.h5", [](const std::string& p) { set(p, "num_train", -5); }).find("num_train: -5 is out of range"),
            std::string::npos);
  EXPECT_NE(refused("c.h5", [](const std::string& p) { set(p, "epoch_samples", std::int64_t{1} << 40); })
                .find("epoch_samples: 1099511627776 is out of range (0 to 3500: step_in_epoch batches)"),
            std::string::npos);
  EXPECT_NE(refused("d.h5", [](const std::string& p) { set(p, "early_stopping_best_epoch", 3); })
                .find("early_stopping_best_epoch: 3 is out of range (0 to 2: the epochs completed)"),
            std::string::npos);
  EXPECT_NE(refused("e.h5", [](const std::string& p) { probe::replace_attribute(p, "/training", "epoch_loss_sum", -1.0); })
                .find("epoch_loss_sum: -1 is not a finite number >= 0"),
            std::string::npos);
  EXPECT_EQ(refused("f.h5", [](const std::string& p) { probe::replace_attribute(p, "/optimizer", "iterations", std::int64_t{7}); }),
            "/optimizer: attribute iterations: 7 but /training step is 175 (one iteration per step)");
}

TEST(CheckpointLimits, AttributesOfTheWrongTypeOrLength) {
  EXPECT_EQ(refused("a.h5", [](const std::string& p) { probe::replace_attribute(p, "/training", "epoch", 2.0); }),
            "/training: attribute epoch: attribute epoch is not an integer");
  EXPECT_EQ(refused("b.h5", [](const std::string& p) { probe::replace_string_attribute(p, "/training", "lr", "0.001"); }),
            "/training: attribute lr: attribute lr is not a floating-point number");
  EXPECT_EQ(refused("c.h5", [](const std::string& p) { probe::replace_string_attribute(p, "/training", "optimizer", std::string(70000, 'x')); }),
            "/training: attribute optimizer: attribute optimizer: 1 strings of 70000 bytes, more than the limit of 65536");
  const std::string unknown = refused("d.h5", [](const std::string& p) {
    probe::replace_string_attribute(p, "/training", "optimizer", std::string(1000, 'y'));
  });
  EXPECT_NE(unknown.find(std::string(100, 'y') + "... (1,"), std::string::npos) << unknown;  // a long value is cut short
  EXPECT_LT(unknown.size(), 400u);
}

// /history declared with 2^31 values in chunks never written: refused by its shape (the epochs
// /training counts), and -- with counters that agree with it -- by what the file stores.
TEST(CheckpointLimits, HugeDeclaredDatasetsAreRefusedBeforeReading) {
  EXPECT_EQ(refused("a.h5", [](const std::string& p) { probe::declare_dataset(p, "/history/loss", {1ull << 31}, {1ull << 20}); }),
            "dataset /history/loss: shape (2147483648,), expected (2,)");
  const std::string consistent = refused("b.h5", [](const std::string& p) {
    const std::int64_t epochs = std::int64_t{1} << 31;
    set(p, "epoch", epochs);
    set(p, "step", epochs * 84 + 7);
    probe::replace_attribute(p, "/optimizer", "iterations", epochs * 84 + 7);
    for (const char* key : {"loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds"})
      probe::declare_dataset(p, std::string("/history/") + key, {1ull << 31}, {1ull << 20});
  });
  EXPECT_EQ(consistent, "dataset /history/loss: declares 2,147,483,648 values (17,179,869,184 bytes) but stores 0 bytes "
                        "(chunks never written, or compressed; checkpoints are written whole and uncompressed)");
  EXPECT_EQ(refused("c.h5", [](const std::string& p) { probe::declare_dataset(p, "/history/val_loss", {2}, {1}); }),
            "dataset /history/val_loss: declares 2 values (16 bytes) but stores 0 bytes (chunks never written, or "
            "compressed; checkpoints are written whole and uncompressed)");
}

TEST(CheckpointLimits, AModelLargerThanTheFileIsRefusedBeforeAllocating) {
  Checkpoint big = sample_checkpoint(1, false);
  big.model.layers[6].units = 16384;  // dense: (576, 16384) and dense_1: (16384, 10)
  const std::string message = refused("a.h5", [&](const std::string& p) {
    probe::replace_string_attribute(p, "/", "model_config", to_keras_json(big.model));
  });
  EXPECT_NE(message.find("attribute model_config: a model of 9,673,162 parameters, more than the file's "), std::string::npos)
      << message;
}

TEST(CheckpointLimits, TheSummaryReadsTrainingAloneAndChecksIt) {
  TempDir dir;
  const std::string path = dir.file("c.h5");
  write_checkpoint(path, sample_checkpoint(2, true));
  const CheckpointSummary s = read_checkpoint_summary(path);
  EXPECT_EQ(s.training.run_id, "5eed0123");
  EXPECT_EQ(s.training.epoch, 2);
  EXPECT_TRUE(s.evaluated);
  set(path, "step_in_epoch", -1);
  EXPECT_NE(expect_error(Exit::checkpoint, [&] { read_checkpoint_summary(path); }).find("step_in_epoch: -1 is out of range"),
            std::string::npos);
}

// A FIFO given as a checkpoint is refused at once, never opened (opening would wait for a writer).
TEST(CheckpointLimits, AFifoIsNotACheckpoint) {
  TempDir dir;
  ASSERT_EQ(::mkfifo(dir.file("c.h5").c_str(), 0600), 0);
  EXPECT_EQ(expect_error(Exit::checkpoint, [&] { read_checkpoint(dir.file("c.h5")); }),
            dir.file("c.h5") + ": it is a FIFO (named pipe), not a regular file (a checkpoint must be a regular file)");
}

}  // namespace
}  // namespace fmnist::test
