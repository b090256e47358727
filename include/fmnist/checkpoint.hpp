// The only HDF5-facing interface: checkpoints in the layout of docs/models.md's Checkpoints section
// (/model_weights in Keras's legacy layout, /optimizer, /training, /history, /evaluation),
// every dataset chunked with a Fletcher32 checksum that is verified on load.
// Errors throw Error(Exit::checkpoint, "<file>: <dataset or attribute>: <what>").
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fmnist/history.hpp"
#include "fmnist/model_spec.hpp"
#include "fmnist/report.hpp"
#include "fmnist/settings.hpp"

namespace fmnist {

// The attributes of /training besides the settings: X(type, name, default, SettingInfo fields).
// Ckpt::restore: progress that a resume continues from (read, then sent to every rank);
// Ckpt::must_match: a fact of this run that the checkpoint must share; Ckpt::free: recorded only.
// The callbacks' state follows (FMNIST_CALLBACK_FIELDS).
// clang-format off
#define FMNIST_TRAINING_FIELDS(X)                                                                    \
  X(std::int64_t, epoch, 0, .help = "completed epochs", .checkpoint = Ckpt::restore)                 \
  X(std::int64_t, step, 0, .help = "optimizer steps taken in total", .checkpoint = Ckpt::restore)    \
  X(std::int64_t, step_in_epoch, 0, .help = "steps taken inside the current (incomplete) epoch",     \
    .checkpoint = Ckpt::restore)                                                                     \
  X(std::int64_t, world_size, 1, .help = "ranks that wrote it (any world size may resume)",          \
    .checkpoint = Ckpt::free)                                                                        \
  X(std::int64_t, num_train, 0, .help = "the training data", .checkpoint = Ckpt::must_match)         \
  X(std::uint64_t, data_fingerprint, 0, .help = "the training data", .checkpoint = Ckpt::must_match) \
  X(std::string, isa, "unknown", .help = "the instruction set of the kernels that wrote it (kernel_isa())", \
    .checkpoint = Ckpt::free, .older = "unknown")                                                      \
  /* running sums of the incomplete epoch, so the resumed epoch reports the same means */            \
  X(double, epoch_loss_sum, 0, .help = "loss sum of the current epoch", .checkpoint = Ckpt::restore) \
  X(std::int64_t, epoch_correct, 0, .help = "correct predictions of the current epoch",              \
    .checkpoint = Ckpt::restore)                                                                     \
  X(std::int64_t, epoch_samples, 0, .help = "samples of the current epoch", .checkpoint = Ckpt::restore) \
  X(double, epoch_seconds, 0, .help = "training seconds of the current epoch", .checkpoint = Ckpt::restore) \
  X(double, best_val_loss, 0, .help = "lowest val_loss so far (meaningful when history is not empty)", \
    .checkpoint = Ckpt::restore)
// clang-format on

// What Keras's callbacks remember between epochs (src/train/callbacks.hpp decides with it), stored in
// /training and sent to every rank on a resume. Epochs count from 1 as printed; 0 is "none yet". A
// file written before callbacks existed lacks them: NaN there means "as a fresh run has it"
// (complete_callback_state).
// clang-format off
#define FMNIST_CALLBACK_FIELDS(X)                                                                     \
  X(double, base_lr, 0.001, .help = "the base rate: --lr times ReduceLROnPlateau's reductions",        \
    .checkpoint = Ckpt::restore, .older = "nan")                                                       \
  X(double, early_stopping_best, 0, .help = "EarlyStopping's best monitored value (+-inf: none yet)",  \
    .checkpoint = Ckpt::restore, .older = "nan")                                                       \
  X(std::int64_t, early_stopping_best_epoch, 0, .help = "EarlyStopping's best epoch (its weights are restored)", \
    .checkpoint = Ckpt::restore, .older = "0")                                                         \
  X(std::int64_t, early_stopping_wait, 0, .help = "EarlyStopping's epochs since the best",             \
    .checkpoint = Ckpt::restore, .older = "0")                                                         \
  X(std::int64_t, early_stopping_stopped_epoch, 0, .help = "the epoch after which EarlyStopping stopped (0: not)", \
    .checkpoint = Ckpt::restore, .older = "0")                                                         \
  X(double, plateau_best, 0, .help = "ReduceLROnPlateau's best monitored value (+-inf: none yet)",     \
    .checkpoint = Ckpt::restore, .older = "nan")                                                       \
  X(std::int64_t, plateau_wait, 0, .help = "ReduceLROnPlateau's epochs without improvement",           \
    .checkpoint = Ckpt::restore, .older = "0")                                                         \
  X(std::int64_t, plateau_cooldown, 0, .help = "ReduceLROnPlateau's cooldown epochs left",             \
    .checkpoint = Ckpt::restore, .older = "0")
// clang-format on

struct CallbackState {
  FMNIST_CALLBACK_FIELDS(FMNIST_DECLARE_SETTING)
};

// Everything needed to continue a run exactly (the attributes of /training): the run's settings
// (those the table records: Ckpt other than none), the fields above and the callbacks' state.
struct TrainingState : Settings, CallbackState {
  FMNIST_TRAINING_FIELDS(FMNIST_DECLARE_SETTING)
};

#define FMNIST_VISIT_TRAINING_FIELD(type, name, default_value, ...) \
  visit(SettingInfo{.key = #name, __VA_ARGS__}, t.name);

// Calls visit(const SettingInfo&, field) for every attribute of /training, in file order: the
// fields above, then the recorded settings. The checkpoint reads and writes with it; a resume
// sends the Ckpt::restore fields to every rank with it.
template <typename State, typename Visit>
void visit_training_fields(State& t, Visit&& visit) {
  FMNIST_TRAINING_FIELDS(FMNIST_VISIT_TRAINING_FIELD)
  FMNIST_CALLBACK_FIELDS(FMNIST_VISIT_TRAINING_FIELD)
  visit_settings(t, [&](const SettingInfo& info, auto& field) {
    if (info.checkpoint != Ckpt::none) visit(info, field);
  });
}

#define FMNIST_COPY_RESTORED_FIELD(type, name, default_value, ...) \
  if (SettingInfo{.key = #name, __VA_ARGS__}.checkpoint == Ckpt::restore) to.name = from.name;

// A resume: copies the Ckpt::restore fields (the progress) of `from` into `to`, which holds this run's.
inline void copy_restored_fields(const TrainingState& from, TrainingState& to) {
  FMNIST_TRAINING_FIELDS(FMNIST_COPY_RESTORED_FIELD)
  FMNIST_CALLBACK_FIELDS(FMNIST_COPY_RESTORED_FIELD)
}

// fmnist_inspect's report: the recorded settings (batch_size, seed, optimizer, lr, ...) as (name, text),
// in file order.
std::vector<std::pair<std::string, std::string>> training_settings_text(const TrainingState& t);
// The epoch best.h5 holds after this history, and why: EarlyStopping's best epoch when it was on
// (its monitor), else the lowest val_loss (best_epoch). For the learning curve and fmnist_inspect.
BestMark best_h5_mark(const TrainingState& t, const History& h);

struct OptimizerSlot {
  std::string name;         // "velocity", "momentum", ...
  std::vector<float> data;  // same layout as the weights
};

struct OptimizerState {
  OptimizerKind kind = OptimizerKind::rmsprop;  // /optimizer's attribute name: its text (EnumNames)
  std::int64_t iterations = 0;   // steps taken
  std::vector<OptimizerSlot> slots;
};

struct Evaluation {
  double test_loss = 0;
  double test_accuracy = 0;
};

struct Checkpoint {
  ModelSpec model;              // the root attribute model_config (Keras JSON)
  std::string training_config;  // the root attribute training_config (Keras JSON), if any
  std::vector<float> weights;   // (num_params) in the arena order of plan_model(model).tensors
  OptimizerState optimizer;
  TrainingState training;
  History history;
  std::optional<Evaluation> evaluation;  // present once training has finished
  // The root attributes fmnist_dist_version and fmnist_dist_commit: the release and Git commit of the
  // build that wrote the file (version.hpp); empty for files written before 1.0.0. Reading fills
  // them; write_checkpoint ignores them and records the writing build's own.
  std::string written_by_version;
  std::string written_by_commit;
};

// Writes `path` atomically: a temporary file beside it, flushed and fsynced, then renamed.
void write_checkpoint(const std::string& path, const Checkpoint& ckpt);

// Reads and verifies (checksums, shapes, finiteness of the weights, the counters of /training
// against each other, every declared size against the file's before allocating) a checkpoint. The model comes
// from model_config; a checkpoint without it (written before models were data) holds the
// tutorial's model (docs/models.md: Checkpoints, resume and fmnist_inspect).
Checkpoint read_checkpoint(const std::string& path);

// /training alone, checked as read_checkpoint checks it, and whether /evaluation is there: what a
// run needs to know of a checkpoint it does not resume (whose run, how far it got). Throws as
// read_checkpoint does.
struct CheckpointSummary {
  TrainingState training;
  bool evaluated = false;
};
CheckpointSummary read_checkpoint_summary(const std::string& path);
// The weights of best.h5 for a resumed run with EarlyStopping: read and verified as read_checkpoint
// does, and refused with Error(Exit::checkpoint) naming the file unless the file holds run `run_id`
// (or one from before run ids), `epoch` (the checkpoint's EarlyStopping best epoch) and `num_params` weights.
std::vector<float> read_weights_of_epoch(const std::string& path, const std::string& run_id, std::int64_t epoch,
                                         std::size_t num_params);

// Checks every dataset's checksum, shape and finiteness; returns the problems found (empty: good),
// each "<file>: <dataset or attribute>: <what>". datasets_checked (optional) receives the number
// of datasets examined.
std::vector<std::string> verify_checkpoint(const std::string& path, std::size_t* datasets_checked = nullptr);

}  // namespace fmnist
