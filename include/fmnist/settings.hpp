// The one table of run settings (README: fmnist_dist options): per setting its type, name, default, --help group
// and text, whether the ranks must agree on it, whether /training records it, how a resume treats a
// difference and which values are valid. The command line, its checks, Config, describe(), /training, the
// resume checks, the callbacks, the schedule, the optimizer and fmnist_inspect's report derive from it:
// adding an option is one entry here (plus its README row).
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace fmnist {

// ---- The choices, with their one text mapping each (EnumNames below) ----
enum class OptimizerKind { rmsprop, adam, sgd, adamw };  // adamw: Keras 3's AdamW
// Where RMSprop puts epsilon: keras2 (Keras 2.x and PyTorch) lr * g / (sqrt(v) + eps), the
// tutorial's; keras3 (Keras 2.11+ and 3) lr * g / sqrt(v + eps).
enum class RmspropForm { keras2, keras3 };
enum class Progress { automatic, always, never };  // the live progress bar
enum class EvalRanks { root, all };                 // who evaluates: rank 0 alone, or all ranks
// A History column a callback watches (Keras's mode 'auto': accuracies maximised, losses minimised).
enum class Monitor { loss, accuracy, val_loss, val_accuracy };
enum class ScheduleKind { constant, cosine, exponential, step };  // --lr-schedule

template <typename E>
struct EnumNames;  // names[i]: the text of the enumerator with value i
template <>
struct EnumNames<OptimizerKind> {
  static constexpr std::array names{"rmsprop", "adam", "sgd", "adamw"};
};
template <>
struct EnumNames<RmspropForm> {
  static constexpr std::array names{"keras2", "keras3"};
};
template <>
struct EnumNames<Progress> {
  static constexpr std::array names{"auto", "always", "never"};
};
template <>
struct EnumNames<EvalRanks> {
  static constexpr std::array names{"0", "all"};
};
template <>
struct EnumNames<Monitor> {
  static constexpr std::array names{"loss", "accuracy", "val_loss", "val_accuracy"};
};
template <>
struct EnumNames<ScheduleKind> {
  static constexpr std::array names{"constant", "cosine", "exponential", "step"};
};
template <typename E>
concept Choice = std::is_enum_v<E> && requires { EnumNames<E>::names; };

// ---- What the table says about each setting ----
enum class Group { data, model, training, output, state };  // --help sections; state: not an option
template <>
struct EnumNames<Group> {  // the sections' titles
  static constexpr std::array names{"Data", "Model", "Training", "Output and resume", "Training state"};
};
// Resume policy, and whether the checkpoint's /training holds the value:
//   none: not recorded; must_match: a resume with another value is refused (exit 4);
//   note: recorded, a resume with another value says so and continues; free: recorded only;
//   restore (training state, not options): the resumed run continues from the recorded value.
enum class Ckpt { none, must_match, note, free, restore };
enum class Ranks { agree, own };  // agree: every rank must have rank 0's value (checked at start-up)

struct Settings;
inline bool always(const Settings&) { return true; }

// The values a setting accepts: a number within [min, max] (an open end excludes its bound, so
// max = inf, open, means finite; NaN is never inside), text of at least `min` characters; `must` says
// so for the message "--option: <must>, got <value> (see --help)". No `must`: every value is valid.
struct Check {
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  bool min_open = false;
  bool max_open = false;
  const char* must = nullptr;
};

struct SettingInfo {
  const char* key;               // Config member, describe() key and /training attribute; option: '_' -> '-'
  Group group = Group::state;
  const char* help = "";         // --help text (training-state fields: what a mismatch concerns)
  Ranks ranks = Ranks::own;
  Ckpt checkpoint = Ckpt::none;
  bool (*when)(const Settings&) = always;  // the resume policy applies only when this holds
  const char* older = nullptr;   // the value that checkpoints written before this attribute imply
  const char* implicit = nullptr;  // the option's value when given without one ("--resume")
  Check check = {};              // the valid values (check_settings)
};

// ---- The table: X(type, name, default, SettingInfo fields after .key, in their order) ----
// clang-format off
#define FMNIST_SETTINGS(X)                                                                                      \
  X(std::string, data_dir, "/usr/share/datasets/fashion-mnist", .group = Group::data,                           \
    .help = "folder with the four IDX files (.gz or plain)")                                                    \
  X(std::string, train_csv, "", .group = Group::data,                                                           \
    .help = "Kaggle training CSV (label,pixel1..pixel784) instead of IDX")                                      \
  X(std::string, test_csv, "", .group = Group::data, .help = "Kaggle test CSV (with --train-csv)")              \
  X(double, val_split, 0.3, .group = Group::data, .help = "fraction of the training data held out for validation", \
    .ranks = Ranks::agree, .checkpoint = Ckpt::must_match,                                                      \
    .check = {.min = 0, .max = 1, .min_open = true, .max_open = true, .must = "must lie strictly between 0 and 1"}) \
  X(std::uint32_t, split_seed, 42, .group = Group::data, .help = "random_state of the train/validation split",  \
    .ranks = Ranks::agree, .checkpoint = Ckpt::must_match)                                                      \
  X(std::string, model, "", .group = Group::model,                                                              \
    .help = "a Keras Sequential or Functional model as JSON (model.to_json()); default: the tutorial's")        \
  X(bool, print_model, false, .group = Group::model,                                                            \
    .help = "print the model's Keras JSON (the default or --model's) and exit", .ranks = Ranks::agree)          \
  X(int, epochs, 15, .group = Group::training, .help = "number of epochs", .ranks = Ranks::agree,               \
    .checkpoint = Ckpt::free,                                                                                   \
    .check = {.min = 1, .must = "must be a positive integer"})                                                  \
  X(int, batch_size, 512, .group = Group::training, .help = "global batch size, shared out across the ranks",   \
    .ranks = Ranks::agree, .checkpoint = Ckpt::must_match,                                                      \
    .check = {.min = 1, .must = "must be a positive integer"})                                                  \
  X(OptimizerKind, optimizer, OptimizerKind::rmsprop, .group = Group::training,                                 \
    .help = "rmsprop, adam, sgd (with momentum) or adamw (Keras 3's AdamW: adam with --weight-decay, by "      \
            "default 0.004)",                                                                                   \
    .ranks = Ranks::agree, .checkpoint = Ckpt::must_match)                                                      \
  X(double, lr, 0.001, .group = Group::training, .help = "learning rate", .ranks = Ranks::agree,                \
    .checkpoint = Ckpt::note,                                                                                   \
    .check = {.min = 0, .min_open = true, .max_open = true, .must = "must be a positive number"})               \
  X(double, momentum, 0.9, .group = Group::training, .help = "momentum of sgd", .ranks = Ranks::agree,          \
    .checkpoint = Ckpt::note, .when = for_sgd, .older = "0.9",                                                  \
    .check = {.min = 0, .max = 1, .max_open = true, .must = "must lie in [0, 1)"})                              \
  X(RmspropForm, rmsprop_form, RmspropForm::keras2, .group = Group::training,                                   \
    .help = "where RMSprop's epsilon goes: keras2 (lr*g/(sqrt(v)+eps), Keras 2.x and the tutorial) or keras3 "  \
            "(lr*g/sqrt(v+eps), Keras 2.11+ and 3)",                                                            \
    .ranks = Ranks::agree, .checkpoint = Ckpt::must_match, .when = for_rmsprop, .older = "keras3")              \
  X(double, weight_decay, 0, .group = Group::training,                                                          \
    .help = "decoupled weight decay, Keras 3's for every optimizer: before each update every trainable weight "  \
            "w -= w * W * lr (the step's rate); 0: none (adamw: 0.004 unless given)",                           \
    .ranks = Ranks::agree, .checkpoint = Ckpt::note, .older = "0",                                              \
    .check = {.min = 0, .max_open = true, .must = "must be a finite number >= 0"})                              \
  X(double, label_smoothing, 0, .group = Group::training,                                                       \
    .help = "Keras's label_smoothing of the loss: the targets are onehot * (1 - X) + X / classes in the "       \
            "training and evaluation losses",                                                                   \
    .ranks = Ranks::agree, .checkpoint = Ckpt::must_match, .older = "0",                                        \
    .check = {.min = 0, .max = 1, .max_open = true, .must = "must lie in [0, 1)"})                              \
  X(std::uint64_t, seed, 0, .group = Group::training, .help = "seed of the initial weights and of the shuffling", \
    .ranks = Ranks::agree, .checkpoint = Ckpt::must_match)                                                      \
  X(int, micro_batch, 64, .group = Group::training,                                                             \
    .help = "the global batch is cut into micro-batches of this size, shared out across the ranks; keep it at " \
            "most batch-size / ranks",                                                                          \
    .ranks = Ranks::agree,                                                                                      \
    .check = {.min = 1, .max = 4096, .must = "must lie in 1..4096"})                                            \
  X(std::int64_t, early_stopping, -1, .group = Group::training,                                                 \
    .help = "Keras's EarlyStopping(patience=N, restore_best_weights=True): stop when --monitor has not "        \
            "improved for N epochs, then restore the best epoch's weights (always, stopped or not; -1: off)",   \
    .ranks = Ranks::agree, .checkpoint = Ckpt::note, .older = "-1",                                             \
    .check = {.min = -1, .must = "the patience must be 0 or more epochs (-1: off)"})                            \
  X(Monitor, monitor, Monitor::val_loss, .group = Group::training,                                              \
    .help = "what --early-stopping and --reduce-lr-on-plateau watch: val_loss, val_accuracy, loss or accuracy", \
    .ranks = Ranks::agree, .checkpoint = Ckpt::must_match, .when = watches_monitor, .older = "val_loss")        \
  X(double, min_delta, 0, .group = Group::training,                                                             \
    .help = "EarlyStopping's min_delta: a change of --monitor smaller than this is no improvement",             \
    .ranks = Ranks::agree, .checkpoint = Ckpt::note, .older = "0",                                              \
    .check = {.min = 0, .max_open = true, .must = "must be a finite number >= 0"})                              \
  X(std::int64_t, reduce_lr_on_plateau, -1, .group = Group::training,                                           \
    .help = "Keras's ReduceLROnPlateau(patience=N): multiply the rate by --reduce-lr-factor when --monitor "    \
            "has not improved for N epochs (-1: off)",                                                          \
    .ranks = Ranks::agree, .checkpoint = Ckpt::note, .older = "-1",                                             \
    .check = {.min = -1, .must = "the patience must be 0 or more epochs (-1: off)"})                            \
  X(double, reduce_lr_factor, 0.1, .group = Group::training, .help = "ReduceLROnPlateau's factor, in (0, 1)",   \
    .ranks = Ranks::agree, .checkpoint = Ckpt::note, .older = "0.1",                                            \
    .check = {.min = 0, .max = 1, .min_open = true, .max_open = true, .must = "must be between 0 and 1 (exclusive)"}) \
  X(double, reduce_lr_min_delta, 0.0001, .group = Group::training,                                              \
    .help = "ReduceLROnPlateau's min_delta: the least change of --monitor that counts as an improvement",       \
    .ranks = Ranks::agree, .checkpoint = Ckpt::note, .older = "0.0001",                                         \
    .check = {.min = 0, .max_open = true, .must = "must be a finite number >= 0"})                              \
  X(std::int64_t, cooldown, 0, .group = Group::training,                                                        \
    .help = "ReduceLROnPlateau's cooldown: epochs after a reduction before counting again",                     \
    .ranks = Ranks::agree, .checkpoint = Ckpt::note, .older = "0",                                              \
    .check = {.min = 0, .must = "must be 0 or more epochs"})                                                    \
  X(double, min_lr, 0, .group = Group::training, .help = "ReduceLROnPlateau's min_lr: the rate's floor",        \
    .ranks = Ranks::agree, .checkpoint = Ckpt::note, .older = "0",                                              \
    .check = {.min = 0, .max_open = true, .must = "must be a finite number >= 0"})                              \
  X(ScheduleKind, lr_schedule, ScheduleKind::constant, .group = Group::training,                                \
    .help = "the rate per step: constant, cosine (CosineDecay), exponential (ExponentialDecay) or step "        \
            "(ExponentialDecay with staircase)",                                                                \
    .ranks = Ranks::agree, .checkpoint = Ckpt::note, .older = "constant")                                       \
  X(std::int64_t, warmup_epochs, 0, .group = Group::training,                                                   \
    .help = "linear warmup: over this many epochs first, the rate rises step by step to --lr (Goyal et al.)",   \
    .ranks = Ranks::agree, .checkpoint = Ckpt::note, .older = "0",                                              \
    .check = {.min = 0, .must = "must be 0 or more epochs"})                                                    \
  X(std::int64_t, lr_decay_epochs, 0, .group = Group::training,                                                 \
    .help = "cosine: its length in epochs (0: the rest of the run); exponential: epochs per --lr-decay-rate "   \
            "(0: 1)",                                                                                           \
    .ranks = Ranks::agree, .checkpoint = Ckpt::note, .older = "0",                                              \
    .check = {.min = 0, .must = "must be 0 (the default) or more epochs"})                                      \
  X(double, lr_decay_rate, 0.9, .group = Group::training,                                                       \
    .help = "exponential: the factor per --lr-decay-epochs, applied smoothly per step",                         \
    .ranks = Ranks::agree, .checkpoint = Ckpt::note, .older = "0.9",                                            \
    .check = {.min = 0, .max = 1, .min_open = true, .must = "must be in (0, 1]"})                               \
  X(std::int64_t, lr_step_epochs, 5, .group = Group::training,                                                  \
    .help = "step: multiply the rate by --lr-step-factor every this many epochs",                               \
    .ranks = Ranks::agree, .checkpoint = Ckpt::note, .older = "5",                                              \
    .check = {.min = 1, .must = "must be 1 or more epochs"})                                                    \
  X(double, lr_step_factor, 0.5, .group = Group::training, .help = "step: the factor of each step",             \
    .ranks = Ranks::agree, .checkpoint = Ckpt::note, .older = "0.5",                                            \
    .check = {.min = 0, .max = 1, .min_open = true, .must = "must be in (0, 1]"})                               \
  X(double, lr_alpha, 0, .group = Group::training,                                                              \
    .help = "cosine: the final rate as a fraction of --lr (CosineDecay's alpha)",                               \
    .ranks = Ranks::agree, .checkpoint = Ckpt::note, .older = "0",                                              \
    .check = {.min = 0, .max = 1, .must = "must be in [0, 1]"})                                                 \
  X(std::int64_t, max_steps, 0, .group = Group::training,                                                       \
    .help = "stop after this many optimizer steps in total, checkpoint, exit 0 (0: no limit)",                  \
    .ranks = Ranks::agree,                                                                                      \
    .check = {.min = 0, .must = "must be 0 (no limit) or a positive number of steps"})                          \
  X(std::string, out_dir, "run", .group = Group::output,                                                        \
    .help = "folder for checkpoint.h5, best.h5, history.csv, learning_curve.svg",                               \
    .check = {.min = 1, .must = "must not be empty"})                                                           \
  X(std::int64_t, checkpoint_every, 0, .group = Group::output,                                                  \
    .help = "also checkpoint every K steps (0: only after each epoch)", .ranks = Ranks::agree,                  \
    .check = {.min = 0, .must = "must be 0 (off) or a positive number of steps"})                               \
  X(std::string, resume, "", .group = Group::output,                                                            \
    .help = "continue from a checkpoint: 'auto' (OUT_DIR/checkpoint.h5 if present) or a file",                  \
    .ranks = Ranks::agree, .implicit = "auto")                                                                  \
  X(std::string, run_id, "", .group = Group::output,                                                            \
    .help = "the run's id (1-64 letters, digits, '-', '_', '.'); default: the checkpoint's when resuming, else "\
            "128 random bits; with --resume, only the checkpoint of this run is continued",                     \
    .ranks = Ranks::agree, .checkpoint = Ckpt::free, .older = "")                                               \
  X(bool, overwrite, false, .group = Group::output,                                                             \
    .help = "start afresh even where --out-dir holds another run's checkpoint: its files are deleted first",   \
    .ranks = Ranks::agree)                                                                                      \
  X(EvalRanks, eval_ranks, EvalRanks::root, .group = Group::output,                                             \
    .help = "who evaluates: '0' (rank 0 alone) or 'all' (shared across ranks)", .ranks = Ranks::agree)          \
  X(Progress, progress, Progress::automatic, .group = Group::output,                                            \
    .help = "live progress bar: auto (when standard output is a terminal), always or never")                    \
  X(bool, profile, false, .group = Group::output,                                                               \
    .help = "after every epoch, print compute/allreduce/update seconds and peak memory", .ranks = Ranks::agree) \
  X(double, stall_timeout, 60, .group = Group::output,                                                          \
    .help = "a collective of the training loop waits at most this many seconds for the other ranks, then the "  \
            "job ends with exit 6 naming the ranks that did not arrive (0: off)",                               \
    .ranks = Ranks::agree,                                                                                      \
    .check = {.min = 0, .max = 86400, .must = "must be 0 (off) or a number of seconds up to 86400"})
// clang-format on

#define FMNIST_DECLARE_SETTING(type, name, default_value, ...) type name = default_value;

// One member per table entry, initialised to its default.
struct Settings {
  FMNIST_SETTINGS(FMNIST_DECLARE_SETTING)
};

inline bool for_rmsprop(const Settings& s) { return s.optimizer == OptimizerKind::rmsprop; }
inline bool for_sgd(const Settings& s) { return s.optimizer == OptimizerKind::sgd; }
// --weight-decay's value with --optimizer adamw when the option is not given: Keras 3's AdamW default.
inline constexpr double kAdamwWeightDecay = 0.004;
inline bool early_stopping_on(const Settings& s) { return s.early_stopping >= 0; }  // -1: off
inline bool plateau_on(const Settings& s) { return s.reduce_lr_on_plateau >= 0; }   // -1: off
// The callbacks' best values are in --monitor's units: a resume that uses them must watch the same.
inline bool watches_monitor(const Settings& s) { return early_stopping_on(s) || plateau_on(s); }

// Micro-batches per step at most (ceil(batch-size / micro-batch)): the bound that keeps the exact
// fixed-point sum of a step inside int64 (src/train/exact_sum.hpp).
constexpr int kMaxMicroBatches = 1024;

#define FMNIST_VISIT_SETTING(type, name, default_value, ...) \
  visit(SettingInfo{.key = #name, __VA_ARGS__}, s.name);

// Calls visit(const SettingInfo&, field) for every setting, in table order (Settings or const Settings).
template <typename S, typename Visit>
void visit_settings(S& s, Visit&& visit) {
  FMNIST_SETTINGS(FMNIST_VISIT_SETTING)
}

// The option's name: the key with '-' for '_' ("batch_size" -> "batch-size").
std::string option_name(const SettingInfo& info);

// ---- Values as text: the one mapping used by --help, describe(), checkpoints and reports ----
std::string to_text(const std::string& v);
std::string to_text(bool v);
std::string to_text(int v);
std::string to_text(std::int64_t v);
std::string to_text(std::uint32_t v);
std::string to_text(std::uint64_t v);
std::string to_text(double v);  // the shortest text that reads back as the same double
template <Choice E>
std::string to_text(E e) {
  return EnumNames<E>::names[static_cast<std::size_t>(e)];
}

// Reads `text` into `v`; returns what is wrong ("'x' is not a valid integer", "must be keras2 or
// keras3, got 'x'"), or nothing when it fits. The whole text must be used.
std::optional<std::string> from_text(std::string_view text, std::string& v);
std::optional<std::string> from_text(std::string_view text, bool& v);
std::optional<std::string> from_text(std::string_view text, int& v);
std::optional<std::string> from_text(std::string_view text, std::int64_t& v);
std::optional<std::string> from_text(std::string_view text, std::uint32_t& v);
std::optional<std::string> from_text(std::string_view text, std::uint64_t& v);
std::optional<std::string> from_text(std::string_view text, double& v);
// The names of a choice as a list: "rmsprop, adam or sgd".
template <Choice E>
std::string choices_text() {
  const auto& names = EnumNames<E>::names;
  std::string choices;
  for (std::size_t i = 0; i < names.size(); ++i)
    choices += std::string(i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  return choices;
}
template <Choice E>
std::optional<std::string> from_text(std::string_view text, E& v) {
  const auto& names = EnumNames<E>::names;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (text == names[i]) {
      v = static_cast<E>(i);
      return std::nullopt;
    }
  }
  return "must be " + choices_text<E>() + ", got '" + std::string(text) + "'";
}

// ---- The checks ----
// What is wrong with a number or a text's length for `check` ("must be a positive integer, got 0"), or nothing.
std::optional<std::string> check_problem(const Check& check, double value, const std::string& text);
// The same for a setting's value; flags and choices have no check (from_text takes only their values).
template <typename T>
std::optional<std::string> check_problem(const Check& check, const T& value) {
  if constexpr (std::is_same_v<T, std::string>) {
    return check_problem(check, static_cast<double>(value.size()), "'" + value + "'");
  } else if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
    return check_problem(check, static_cast<double>(value), to_text(value));
  } else {
    return std::nullopt;
  }
}

// Every setting against its entry's check, in table order, then the combinations that no one entry can
// check (micro-batches per step, --test-csv without --train-csv, a cosine warmup against --epochs).
// Throws usage_error (include/fmnist/error.hpp) naming the option of the first problem.
void check_settings(const Settings& s);

// Sets the setting `key` ("stall_timeout") from `text` when the text reads and passes the entry's
// check; otherwise returns what is wrong and leaves `s` as it was.
std::optional<std::string> set_setting(Settings& s, std::string_view key, std::string_view text);

}  // namespace fmnist
