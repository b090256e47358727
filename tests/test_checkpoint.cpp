// Checkpoint round trips (every field, bit for bit), deterministic bytes, and refusal of
// damaged or incompatible files: flipped bytes (data and metadata), truncation, missing
// datasets, wrong shapes, non-finite weights. Write failures are in test_checkpoint_write.cpp.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>

#include "../src/checkpoint/probe.hpp"
#include "fmnist/version.hpp"
#include "test_checkpoint_helpers.hpp"

namespace fmnist::test {
namespace {

const std::string kKernel1 = "/model_weights/conv2d_1/conv2d_1/kernel:0";

// Every /training attribute as (name, text), in file order, through the checkpoint's visitor (exact:
// doubles print as their shortest round-trip text).
std::vector<std::pair<std::string, std::string>> attributes_text(const TrainingState& t) {
  std::vector<std::pair<std::string, std::string>> pairs;
  visit_training_fields(t, [&](const SettingInfo& info, const auto& value) { pairs.emplace_back(info.key, to_text(value)); });
  return pairs;
}

void expect_equal(const Checkpoint& a, const Checkpoint& b) {
  EXPECT_EQ(to_keras_json(a.model), to_keras_json(b.model));
  EXPECT_EQ(a.training_config, b.training_config);
  ASSERT_EQ(a.weights.size(), b.weights.size());
  EXPECT_EQ(0, std::memcmp(a.weights.data(), b.weights.data(), a.weights.size() * sizeof(float)));
  EXPECT_EQ(a.optimizer.kind, b.optimizer.kind);
  EXPECT_EQ(a.optimizer.iterations, b.optimizer.iterations);
  ASSERT_EQ(a.optimizer.slots.size(), b.optimizer.slots.size());
  for (std::size_t i = 0; i < a.optimizer.slots.size(); ++i) {
    EXPECT_EQ(a.optimizer.slots[i].name, b.optimizer.slots[i].name);
    EXPECT_EQ(a.optimizer.slots[i].data, b.optimizer.slots[i].data);
  }
  // Every /training attribute, settings included, from the tables (exact: doubles print as their
  // shortest round-trip text).
  EXPECT_EQ(attributes_text(a.training), attributes_text(b.training));
  EXPECT_EQ(a.history.loss, b.history.loss);
  EXPECT_EQ(a.history.accuracy, b.history.accuracy);
  EXPECT_EQ(a.history.val_loss, b.history.val_loss);
  EXPECT_EQ(a.history.val_accuracy, b.history.val_accuracy);
  EXPECT_EQ(a.history.seconds, b.history.seconds);
  ASSERT_EQ(a.evaluation.has_value(), b.evaluation.has_value());
  if (a.evaluation) {
    EXPECT_EQ(a.evaluation->test_loss, b.evaluation->test_loss);
    EXPECT_EQ(a.evaluation->test_accuracy, b.evaluation->test_accuracy);
  }
}

TEST(Checkpoint, RoundTripKeepsEveryField) {
  TempDir dir;
  const Checkpoint written = sample_checkpoint(3, true);
  write_checkpoint(dir.file("c.h5"), written);
  expect_equal(written, read_checkpoint(dir.file("c.h5")));
}

TEST(Checkpoint, RoundTripWithoutHistoryOrEvaluation) {
  TempDir dir;
  const Checkpoint written = sample_checkpoint(0, false);
  write_checkpoint(dir.file("c.h5"), written);
  const Checkpoint read = read_checkpoint(dir.file("c.h5"));
  EXPECT_EQ(read.history.epochs(), 0u);
  EXPECT_FALSE(read.evaluation.has_value());
  expect_equal(written, read);
}

TEST(Checkpoint, RoundTripKeepsSlotOrderAndEmptySlotList) {
  TempDir dir;
  Checkpoint adam = sample_checkpoint(1, false);
  adam.optimizer.kind = OptimizerKind::adam;
  adam.optimizer.slots = {{"velocity", std::vector<float>(num_params(adam), 2.0f)},
                          {"momentum", std::vector<float>(num_params(adam), -1.0f)}};
  write_checkpoint(dir.file("adam.h5"), adam);
  expect_equal(adam, read_checkpoint(dir.file("adam.h5")));

  Checkpoint sgd = sample_checkpoint(1, false);
  sgd.optimizer.kind = OptimizerKind::sgd;
  sgd.optimizer.slots.clear();
  write_checkpoint(dir.file("sgd.h5"), sgd);
  expect_equal(sgd, read_checkpoint(dir.file("sgd.h5")));
}

TEST(Checkpoint, SameCheckpointGivesIdenticalBytes) {
  TempDir dir;
  const Checkpoint c = sample_checkpoint(4, true);
  write_checkpoint(dir.file("a.h5"), c);
  write_checkpoint(dir.file("b.h5"), c);
  const auto a = read_bytes(dir.file("a.h5"));
  EXPECT_GT(a.size(), num_params(c) * 2 * sizeof(float));
  EXPECT_TRUE(a == read_bytes(dir.file("b.h5")));
}

TEST(Checkpoint, VerifyCountsEveryDatasetOfAGoodFile) {
  TempDir dir;
  write_checkpoint(dir.file("c.h5"), sample_checkpoint(2, true));
  std::size_t checked = 0;
  EXPECT_TRUE(verify_checkpoint(dir.file("c.h5"), &checked).empty());
  EXPECT_EQ(checked, plan_model(tutorial_model_spec()).tensors.size() + 1 + 6 + 2);  // weights, velocity, history, evaluation
}

TEST(Checkpoint, FlippedWeightByteIsCaughtByReadAndVerify) {
  TempDir dir;
  const std::string path = dir.file("c.h5");
  write_checkpoint(path, sample_checkpoint(2, true));
  const probe::StorageExtent extent = probe::dataset_storage(path, kKernel1);
  EXPECT_EQ(extent.size, 3u * 3 * 32 * 64 * sizeof(float) + 4);  // data + Fletcher32
  flip_byte(path, extent.offset + 1000);

  const std::string message = expect_error(Exit::checkpoint, [&] { read_checkpoint(path); });
  EXPECT_EQ(message, path + ": dataset " + kKernel1 + ": checksum mismatch (Fletcher32) or unreadable");
  const auto problems = verify_checkpoint(path);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], message);
}

TEST(Checkpoint, FlippedHistoryAndSlotBytesAreNamed) {
  TempDir dir;
  const std::string path = dir.file("c.h5");
  write_checkpoint(path, sample_checkpoint(3, false));
  flip_byte(path, probe::dataset_storage(path, "/history/val_loss").offset + 3);
  flip_byte(path, probe::dataset_storage(path, "/optimizer/velocity").offset + 12345);
  const auto problems = verify_checkpoint(path);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_NE(problems[0].find("/optimizer/velocity: checksum mismatch"), std::string::npos) << problems[0];
  EXPECT_NE(problems[1].find("/history/val_loss: checksum mismatch"), std::string::npos) << problems[1];
}

TEST(Checkpoint, FlippedAttributeByteIsCaughtByTheHeaderChecksum) {
  TempDir dir;
  const std::string path = dir.file("c.h5");
  write_checkpoint(path, sample_checkpoint(2, false));
  const auto bytes = read_bytes(path);
  const std::string name = "data_fingerprint";
  const auto at = std::search(bytes.begin(), bytes.end(), name.begin(), name.end());
  ASSERT_NE(at, bytes.end());
  flip_byte(path, static_cast<std::uint64_t>(at - bytes.begin()));
  const std::string message = expect_error(Exit::checkpoint, [&] { read_checkpoint(path); });
  EXPECT_NE(message.find("/training"), std::string::npos) << message;
  EXPECT_FALSE(verify_checkpoint(path).empty());
}

TEST(Checkpoint, TruncatedFileIsRefused) {
  TempDir dir;
  const std::string path = dir.file("c.h5");
  write_checkpoint(path, sample_checkpoint(2, false));
  auto bytes = read_bytes(path);
  bytes.resize(bytes.size() / 2);
  write_bytes(path, bytes);
  const std::string message = expect_error(Exit::checkpoint, [&] { read_checkpoint(path); });
  EXPECT_EQ(message.rfind(path + ": ", 0), 0u) << message;
  EXPECT_NE(message.find("truncated"), std::string::npos) << message;
  EXPECT_EQ(verify_checkpoint(path).size(), 1u);
}

TEST(Checkpoint, MissingFileAndNonHdf5FileAreRefused) {
  TempDir dir;
  EXPECT_EQ(expect_error(Exit::checkpoint, [&] { read_checkpoint(dir.file("none.h5")); }), dir.file("none.h5") + ": no such file");
  write_bytes(dir.file("text.h5"), {'h', 'e', 'l', 'l', 'o'});
  EXPECT_EQ(expect_error(Exit::checkpoint, [&] { read_checkpoint(dir.file("text.h5")); }),
            dir.file("text.h5") + ": not an HDF5 file");
  EXPECT_EQ(verify_checkpoint(dir.file("none.h5")), std::vector<std::string>{dir.file("none.h5") + ": no such file"});
}

TEST(Checkpoint, WrongKernelShapeIsRefused) {
  TempDir dir;
  const std::string path = dir.file("c.h5");
  write_checkpoint(path, sample_checkpoint(1, false));
  probe::replace_dataset(path, "/model_weights/conv2d/conv2d/kernel:0", {3, 3, 1, 16}, std::vector<float>(144, 0.5f));
  EXPECT_EQ(expect_error(Exit::checkpoint, [&] { read_checkpoint(path); }),
            path + ": dataset /model_weights/conv2d/conv2d/kernel:0: shape (3, 3, 1, 16), expected (3, 3, 1, 32)");
}

TEST(Checkpoint, MissingDatasetAndGroupAreNamed) {
  TempDir dir;
  const std::string path = dir.file("c.h5");
  write_checkpoint(path, sample_checkpoint(1, true));
  probe::remove_object(path, "/model_weights/dense/dense/bias:0");
  probe::remove_object(path, "/training");
  EXPECT_EQ(expect_error(Exit::checkpoint, [&] { read_checkpoint(path); }),
            path + ": dataset /model_weights/dense/dense/bias:0: missing");
  const auto problems = verify_checkpoint(path);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[1], path + ": group /training: missing");
}

TEST(Checkpoint, NonFiniteWeightIsRefused) {
  TempDir dir;
  const std::string path = dir.file("c.h5");
  Checkpoint c = sample_checkpoint(1, false);
  c.weights[plan_model(c.model).tensors[6].offset + 5] = std::numeric_limits<float>::quiet_NaN();
  write_checkpoint(path, c);
  const std::string message = expect_error(Exit::checkpoint, [&] { read_checkpoint(path); });
  EXPECT_NE(message.find("/model_weights/dense/dense/kernel:0: non-finite value"), std::string::npos) << message;
  EXPECT_NE(message.find("at element 5"), std::string::npos) << message;
}

TEST(Checkpoint, DatasetWithoutChecksumIsReported) {
  TempDir dir;
  const std::string path = dir.file("c.h5");
  write_checkpoint(path, sample_checkpoint(1, false));
  probe::replace_dataset(path, "/history/seconds", {1}, {1.5f}, false);
  const auto problems = verify_checkpoint(path);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], path + ": dataset /history/seconds: no Fletcher32 checksum");
}

// ---- The model ----------------------------------------------------------------------------------

// Another architecture: weightless layers (Dropout, Activation, pooling) get groups with empty
// weight_names, a layer without bias one tensor, and the model comes back from model_config.
TEST(Checkpoint, AnotherModelRoundTripsThroughModelConfig) {
  TempDir dir;
  const ModelSpec model = read_keras_json(std::string(FMNIST_FIXTURES) + "/models/small_dropout.json");
  const Checkpoint written = sample_checkpoint(2, true, model);
  write_checkpoint(dir.file("c.h5"), written);
  const Checkpoint read = read_checkpoint(dir.file("c.h5"));
  expect_equal(written, read);
  EXPECT_EQ(read.model.name, "small_dropout");
  EXPECT_EQ(read.model.source, dir.file("c.h5"));
  EXPECT_EQ(read.model.layers[3].name, "mix");
  EXPECT_FALSE(read.model.layers[3].use_bias);
  EXPECT_EQ(num_params(read), 4258u);
}

// Files written before models were data have no model_config and no rmsprop_form: they hold
// the tutorial's model, trained with the then-default Keras 3 form of RMSprop.
TEST(Checkpoint, OldCheckpointsReadAsTheTutorialsModel) {
  TempDir dir;
  const std::string path = dir.file("old.h5");
  Checkpoint written = sample_checkpoint(1, false);
  written.training.rmsprop_form = RmspropForm::keras2;
  write_checkpoint(path, written);
  probe::remove_attribute(path, "/", "model_config");
  probe::remove_attribute(path, "/", "training_config");
  probe::remove_attribute(path, "/training", "rmsprop_form");
  probe::remove_attribute(path, "/training", "momentum");
  const Checkpoint read = read_checkpoint(path);
  EXPECT_EQ(first_difference(read.model, tutorial_model_spec()), "");
  EXPECT_EQ(read.model.layers[7].name, "dense_1");
  EXPECT_EQ(read.training.rmsprop_form, RmspropForm::keras3);
  EXPECT_EQ(read.training.momentum, 0.9);  // recorded since the settings table; older files imply the default
  EXPECT_EQ(read.training_config, "");
  EXPECT_EQ(read.weights, written.weights);
  EXPECT_TRUE(verify_checkpoint(path).empty());
}

// Every file records the release and commit of the build that wrote it (root attributes
// fmnist_dist_version and fmnist_dist_commit); files written before 1.0.0 have neither and read as
// empty, and verify as before.
TEST(Checkpoint, WriterVersionIsRecordedAndOlderFilesLackIt) {
  TempDir dir;
  const std::string path = dir.file("ckpt.h5");
  Checkpoint written = sample_checkpoint(1, false);
  written.written_by_version = "0.0.1";  // ignored: the writer records its own build
  write_checkpoint(path, written);
  const Checkpoint read = read_checkpoint(path);
  EXPECT_EQ(read.written_by_version, version());
  EXPECT_EQ(read.written_by_commit, git_commit());
  EXPECT_NE(read.written_by_version, "0.0.1");
  probe::remove_attribute(path, "/", "fmnist_dist_version");
  probe::remove_attribute(path, "/", "fmnist_dist_commit");
  const Checkpoint old = read_checkpoint(path);
  EXPECT_EQ(old.written_by_version, "");
  EXPECT_EQ(old.written_by_commit, "");
  EXPECT_EQ(old.weights, written.weights);
  EXPECT_TRUE(verify_checkpoint(path).empty());
}

// Files written before the callbacks lack /history/lr (read as /training's lr for every epoch), the
// callbacks' options (their defaults: off) and their state (NaN where a fresh run's value depends on
// the options; the trainer fills it).
TEST(Checkpoint, OlderFilesWithoutLrOrCallbacks) {
  TempDir dir;
  const std::string path = dir.file("old.h5");
  Checkpoint written = sample_checkpoint(2, true);
  written.training.early_stopping_wait = 3;
  write_checkpoint(path, written);
  probe::remove_object(path, "/history/lr");
  for (const char* name : {"base_lr", "early_stopping_best", "early_stopping_wait", "plateau_best", "early_stopping",
                           "monitor", "lr_schedule"})
    probe::remove_attribute(path, "/training", name);
  const Checkpoint read = read_checkpoint(path);
  EXPECT_EQ(read.history.lr, std::vector<double>(written.history.epochs(), written.training.lr));
  EXPECT_TRUE(std::isnan(read.training.base_lr));
  EXPECT_TRUE(std::isnan(read.training.early_stopping_best));
  EXPECT_TRUE(std::isnan(read.training.plateau_best));
  EXPECT_EQ(read.training.early_stopping_wait, 0);
  EXPECT_EQ(read.training.early_stopping, -1);
  EXPECT_EQ(read.training.monitor, Monitor::val_loss);
  EXPECT_TRUE(verify_checkpoint(path).empty());
}

// fmnist_inspect's report of /training: every attribute, in file order, as the table's text; the
// settings are those the table records (Ckpt other than none), in its order.
TEST(Checkpoint, TrainingAttributesAsText) {
  TrainingState t = sample_checkpoint(1, false).training;
  t.run_id = "3c0ffee0";
  const auto all = attributes_text(t);
  ASSERT_GE(all.size(), 20u);
  EXPECT_EQ(all.front(), (std::pair<std::string, std::string>("epoch", "1")));
  const auto settings = training_settings_text(t);
  std::vector<std::pair<std::string, std::string>> expected;
  visit_settings(t, [&](const SettingInfo& info, const auto& value) {
    if (info.checkpoint != Ckpt::none) expected.emplace_back(info.key, to_text(value));
  });
  EXPECT_EQ(settings, expected);
  // The sample's values, as the table's text: all 32 and 64 bits, a shortest double, a choice.
  const std::map<std::string, std::string> text(settings.begin(), settings.end());
  EXPECT_EQ(text.at("split_seed"), "4000000000");
  EXPECT_EQ(text.at("seed"), "18364758544493064720");
  EXPECT_EQ(text.at("lr"), "0.00125");
  EXPECT_EQ(text.at("reduce_lr_min_delta"), "1e-04");
  EXPECT_EQ(text.at("rmsprop_form"), "keras3");
  EXPECT_EQ(text.at("run_id"), "3c0ffee0");
  EXPECT_EQ(text.count("micro_batch"), 0u);  // not recorded (Ckpt::none)
  for (const auto& pair : settings) EXPECT_NE(std::find(all.begin(), all.end(), pair), all.end()) << pair.first;
}

// A /training attribute with a choice the table does not know is a bad checkpoint, named.
TEST(Checkpoint, UnknownChoiceIsNamed) {
  TempDir dir;
  const std::string path = dir.file("c.h5");
  write_checkpoint(path, sample_checkpoint(1, false));
  probe::replace_string_attribute(path, "/training", "optimizer", "adagrad");
  const std::string message = expect_error(Exit::checkpoint, [&] { read_checkpoint(path); });
  EXPECT_NE(message.find("/training: attribute optimizer: must be rmsprop, adam, sgd or adamw, got 'adagrad'"),
            std::string::npos)
      << message;
}

TEST(Checkpoint, BadModelConfigIsNamed) {
  TempDir dir;
  const std::string path = dir.file("c.h5");
  write_checkpoint(path, sample_checkpoint(1, false));
  probe::replace_string_attribute(path, "/", "model_config", "{\"class_name\": \"Sequential\", ");
  const std::string message = expect_error(Exit::checkpoint, [&] { read_checkpoint(path); });
  EXPECT_EQ(message.rfind(path + ": attribute model_config: line 1, column", 0), 0u) << message;
  EXPECT_NE(message.find("malformed JSON"), std::string::npos) << message;
  EXPECT_EQ(verify_checkpoint(path), std::vector<std::string>{message});
  // A model_config of another model than /model_weights holds: the weights do not fit.
  Checkpoint other = sample_checkpoint(1, false);
  other.model.layers[6].units = 32;
  probe::replace_string_attribute(path, "/", "model_config", to_keras_json(other.model));
  EXPECT_NE(expect_error(Exit::checkpoint, [&] { read_checkpoint(path); }).find("dense/kernel:0: shape (576, 64), expected (576, 32)"),
            std::string::npos);
}

TEST(Checkpoint, LargeModelConfigFitsTheFile) {  // past HDF5's 64 KB limit for compact attributes
  TempDir dir;
  ModelSpec model = tutorial_model_spec();
  for (int i = 0; i < 200; ++i) {
    LayerSpec d;
    d.kind = LayerKind::dense;
    d.name = "hidden_" + std::to_string(i);
    d.units = 64;
    d.activation = Activation::relu;
    model.layers.insert(model.layers.begin() + 7, d);
  }
  ASSERT_GT(to_keras_json(model).size(), 65536u);
  const Checkpoint written = sample_checkpoint(1, false, model);
  write_checkpoint(dir.file("c.h5"), written);
  expect_equal(written, read_checkpoint(dir.file("c.h5")));
}

}  // namespace
}  // namespace fmnist::test
