// Starting and resuming (docs/models.md: Checkpoints, resume and fmnist_inspect). Validate, then broadcast:
// rank 0 checks the whole checkpoint against this run, the ranks agree on the outcome, and only a
// checkpoint that fits is sent, so every rank receives exactly what it expects (never an MPI error).
// A run owns its out-dir (docs/training.md: One run per out-dir): rank 0 locks it first, a fresh
// run does not replace another run's files, a resume continues only its own run (the run id) and
// brings the out-dir's other files back to agree with the checkpoint it continues.
#include "resume.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <type_traits>

#include "collective.hpp"
#include "fmnist/atomic_file.hpp"
#include "fmnist/error.hpp"
#include "fmnist/kernel_isa.hpp"
#include "fmnist/report.hpp"
#include "fmnist/run_dir.hpp"

namespace fmnist {
namespace {

[[noreturn]] void incompatible(const std::string& path, const std::string& what) {
  throw Error(Exit::checkpoint, path + ": incompatible checkpoint: " + what);
}

// The recorded settings, then the recorded facts of the data, against this run's, as the table's
// resume policies say (the options first: a changed option also changes the data's fingerprint).
void check_training(const std::string& path, const TrainingState& recorded, const TrainingState& run) {
  std::vector<std::string> texts;  // this run's, in visiting order
  visit_training_fields(run, [&](const SettingInfo&, const auto& value) { texts.push_back(to_text(value)); });
  std::vector<std::string> notes;  // printed once every check has passed
  for (const bool options : {true, false}) {
    std::size_t i = 0;
    visit_training_fields(recorded, [&](const SettingInfo& info, const auto& value) {
      const std::string here = texts[i++], there = to_text(value);
      if ((info.group != Group::state) != options || here == there || !info.when(run)) return;
      const std::string source = options ? "--" + option_name(info) : info.help;
      if (info.checkpoint == Ckpt::must_match)
        incompatible(path, std::string(info.key) + " is " + there + " in the checkpoint but " + here +
                               " in this run (" + source + ")");
      if (info.checkpoint == Ckpt::note)
        notes.push_back("Note: the checkpoint was trained with " + std::string(info.key) + " " + there +
                        "; continuing with " + source + " " + here + ".");
    });
  }
  for (const std::string& note : notes) std::printf("%s\n", note.c_str());
}

std::string slot_list(const OptimizerState& s) {
  std::string names;
  for (const OptimizerSlot& slot : s.slots) names += (names.empty() ? "" : ", ") + slot.name;
  return names.empty() ? "none" : names;
}

// /optimizer against the optimizer of this run: its name, and exactly its slots, each of the
// arena's length. Returns the slots in the order this run's optimizer keeps them.
OptimizerState check_optimizer(const std::string& path, const OptimizerState& recorded,
                               const OptimizerState& expected) {
  const std::string name = to_text(expected.kind);
  if (recorded.kind != expected.kind)
    incompatible(path, "/optimizer is '" + to_text(recorded.kind) + "' but this run uses '" + name + "'");
  OptimizerState ordered{recorded.kind, recorded.iterations, {}};
  for (const OptimizerSlot& want : expected.slots) {
    const auto found = std::find_if(recorded.slots.begin(), recorded.slots.end(),
                                    [&](const OptimizerSlot& s) { return s.name == want.name; });
    if (found == recorded.slots.end())
      incompatible(path, "/optimizer: slot '" + want.name + "' of " + name + " is missing (the file lists " +
                             slot_list(recorded) + ")");
    if (found->data.size() != want.data.size())
      incompatible(path, "/optimizer/" + want.name + ": " + std::to_string(found->data.size()) +
                             " values, expected " + std::to_string(want.data.size()));
    ordered.slots.push_back(*found);
  }
  for (const OptimizerSlot& s : recorded.slots) {
    const auto same_name = [&](const OptimizerSlot& o) { return o.name == s.name; };
    if (std::none_of(expected.slots.begin(), expected.slots.end(), same_name))
      incompatible(path, "/optimizer: unexpected slot '" + s.name + "' (" + name + " keeps " +
                             slot_list(expected) + "; the file lists " + slot_list(recorded) + ")");
    if (std::count_if(recorded.slots.begin(), recorded.slots.end(), same_name) > 1)
      incompatible(path, "/optimizer: slot '" + s.name + "' is listed more than once");
  }
  if (recorded.iterations < 0)
    incompatible(path, "/optimizer: iterations is " + std::to_string(recorded.iterations));
  return ordered;
}

template <typename T>
void broadcast_field(const Comm& comm, T& field, const WatchPoint& at) {
  if constexpr (std::is_same_v<T, std::string>) {
    comm.broadcast(field, at);
  } else if constexpr (std::is_same_v<T, double>) {
    comm.broadcast(&field, 1, at);
  } else {  // integers and choices travel as int64 (uint64 bit for bit)
    static_assert(sizeof(T) <= sizeof(std::int64_t));
    std::int64_t bits = 0;
    std::memcpy(&bits, &field, sizeof(T));
    comm.broadcast(&bits, 1, at);
    std::memcpy(&field, &bits, sizeof(T));
  }
}

// The checkpoint --resume names: OUT_DIR/checkpoint.h5 for auto.
std::string resume_path(const Config& config) {
  return config.resume == "auto" ? config.out_dir + "/checkpoint.h5" : config.resume;
}

// The lock of --out-dir, held until this process ends: the kernel drops it then, after a crash too.
OutDirLock& held_lock() {
  static OutDirLock lock;
  return lock;
}

// Rank 0, first of all: the folder exists and this run holds its lock (exit 2 naming the holder).
// Once taken, the lock stays: a second call for the same folder does nothing.
void lock_out_dir(const std::string& dir) {
  static std::string locked;
  if (locked == dir) return;
  prepare_out_dir(dir);
  held_lock() = OutDirLock::take(dir);
  locked = dir;
  if (!held_lock().warning().empty()) std::fprintf(stderr, "fmnist_dist: warning: %s\n", held_lock().warning().c_str());
}

// "run R, epoch E of N" for a checkpoint this run does not continue, or why it cannot be read.
std::string checkpoint_text(const std::string& path) {
  try {
    const TrainingState t = read_checkpoint_summary(path).training;
    return "run " + (t.run_id.empty() ? std::string("without id") : t.run_id) + ", epoch " + std::to_string(t.epoch) +
           " of " + std::to_string(t.epochs);
  } catch (const Error& e) {
    return std::string("unreadable: ") + e.what();
  }
}

// The files a run writes in its out-dir; checkpoint.h5 and best.h5 are a run's results.
constexpr const char* kRunFiles[] = {"checkpoint.h5", "best.h5", "history.csv", "learning_curve.svg"};

// --overwrite: deletes the files of the run that was in the folder.
void delete_run_files(const std::string& dir) {
  int deleted = 0;
  for (const char* name : kRunFiles) {
    std::error_code ec;
    if (std::filesystem::remove(dir + "/" + name, ec)) ++deleted;
    if (ec) throw Error(Exit::checkpoint, dir + "/" + name + ": cannot delete (--overwrite): " + ec.message());
  }
  if (deleted > 0) std::printf("--overwrite: deleted the %d file(s) of the previous run in %s.\n", deleted, dir.c_str());
}

// A run that starts afresh: the out-dir must not hold a checkpoint.h5 or best.h5 (another run's
// results, which this run would replace) unless --overwrite deletes them. Returns the run's id.
std::string claim_out_dir(const Config& config) {
  for (const char* name : {"checkpoint.h5", "best.h5"}) {
    const std::string path = config.out_dir + "/" + name;
    if (config.overwrite || !std::filesystem::exists(path)) continue;
    throw Error(Exit::usage, "--out-dir " + config.out_dir + " holds " + path + " (" + checkpoint_text(path) +
                                 "), which this run would replace: continue that run with --resume auto, choose "
                                 "another --out-dir, or add --overwrite to delete its files and start afresh");
  }
  if (config.overwrite) delete_run_files(config.out_dir);
  return config.run_id.empty() ? new_run_id() : config.run_id;
}

// Whether the checkpoint at `path` (to resume) is of the run --run-id names (always, without it).
// Another run's: exit 4 naming both ids; with --resume auto and --overwrite, false (start afresh).
bool same_run(const Config& config, const std::string& path) {
  if (config.run_id.empty()) return true;
  const std::string recorded = read_checkpoint_summary(path).training.run_id;
  if (recorded.empty() || recorded == config.run_id) return true;
  if (config.resume == "auto" && config.overwrite) {
    std::printf("--overwrite: %s belongs to run %s, not to run %s (--run-id): starting afresh.\n", path.c_str(),
                recorded.c_str(), config.run_id.c_str());
    return false;
  }
  throw Error(Exit::checkpoint, path + ": belongs to run " + recorded + ", not to run " + config.run_id +
                                    " (--run-id): this run continues only its own checkpoint; leave out --run-id "
                                    "to continue run " + recorded + ", or choose the out-dir of run " + config.run_id);
}

// A resume: the out-dir's checkpoint.h5 and best.h5 must be of the resumed run (or be the file
// resumed, or older than run ids) unless --overwrite deletes them; then history.csv and
// learning_curve.svg are rewritten from the checkpoint's history, and best.h5 from the checkpoint
// itself when it ends the best epoch: a crash between the renames of an epoch's files cannot leave
// them disagreeing (docs/training.md: After a crash).
void bring_files_to_agree(const Config& config, const Checkpoint& ckpt) {
  const std::string& dir = config.out_dir;
  const TrainingState& t = ckpt.training;
  std::error_code ec;
  for (const char* name : {"checkpoint.h5", "best.h5"}) {
    const std::string path = dir + "/" + name;
    if (!std::filesystem::exists(path) || std::filesystem::equivalent(path, resume_path(config), ec)) continue;
    std::string other;
    try {
      other = read_checkpoint_summary(path).training.run_id;
    } catch (const Error&) {
      other = "(unreadable)";
    }
    if (other.empty() || other == t.run_id) continue;
    if (config.overwrite) {
      delete_run_files(dir);
      break;
    }
    throw Error(Exit::usage, "--out-dir " + dir + " holds " + path + " of " + checkpoint_text(path) + ", not of run " +
                                 t.run_id + " (" + resume_path(config) + ") which this run continues and would "
                                 "replace it: choose another --out-dir, or add --overwrite to delete it");
  }
  const History& h = ckpt.history;
  if (h.epochs() == 0) {
    for (const char* name : {"history.csv", "learning_curve.svg"}) std::filesystem::remove(dir + "/" + name, ec);
    return;
  }
  const BestMark mark = best_h5_mark(t, h);
  write_file_atomically(dir + "/history.csv", history_csv(h, t.run_id));
  write_file_atomically(dir + "/learning_curve.svg", learning_curve_svg(h, mark));
  if (t.step_in_epoch != 0 || mark.epoch != h.epochs()) return;
  Checkpoint best = ckpt;
  best.evaluation.reset();
  write_checkpoint(dir + "/best.h5", best);
}

}  // namespace

void take_out_dir(const Config& config, const Comm& comm) {
  collectively(comm, WatchPoint{"in the start-up check of the checkpoint"}, [&] {
    if (comm.is_root()) lock_out_dir(config.out_dir);
  });
}

void prepare_out_dir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(Exit::checkpoint, "--out-dir " + dir + ": cannot create the folder: " + ec.message());
  if (!std::filesystem::is_directory(dir, ec))
    throw Error(Exit::checkpoint, "--out-dir " + dir + ": exists and is not a folder");
}

TrainingState initial_state(const Config& config, const Inputs& inputs, int world_size) {
  TrainingState s;
  static_cast<Settings&>(s) = config;
  s.world_size = world_size;
  s.num_train = static_cast<std::int64_t>(inputs.train.size());
  s.data_fingerprint = inputs.train_fingerprint;
  s.isa = kernel_isa();
  return s;
}

std::optional<Checkpoint> load_resume_checkpoint(const Config& config, const Inputs& inputs, const ModelSpec& model,
                                                 const OptimizerState& expected) {
  if (config.resume.empty()) return std::nullopt;
  const std::string path = resume_path(config);
  if (config.resume == "auto" && !std::filesystem::exists(path)) {
    std::printf("--resume auto: no checkpoint at %s, starting fresh.\n", path.c_str());
    return std::nullopt;
  }
  if (!same_run(config, path)) return std::nullopt;
  Checkpoint ckpt = read_checkpoint(path);
  const std::string difference = first_difference(ckpt.model, model);
  if (!difference.empty()) incompatible(path, "another model: " + difference);
  check_training(path, ckpt.training, initial_state(config, inputs, 1));
  ckpt.optimizer = check_optimizer(path, ckpt.optimizer, expected);
  TrainingState& t = ckpt.training;
  if (t.isa != "unknown" && t.isa != kernel_isa())
    std::printf("Note: %s was written by kernels built for %s, these are built for %s: the run continues, but "
                "not to the same bytes as on the first kind.\n", path.c_str(), t.isa.c_str(), kernel_isa().c_str());
  if (t.run_id.empty()) {
    t.run_id = config.run_id.empty() ? new_run_id() : config.run_id;
    std::printf("Note: %s was written before runs had ids: it continues as run %s.\n", path.c_str(), t.run_id.c_str());
  }
  std::printf("Resuming run %s from %s (written by %lld rank(s)).\n", t.run_id.c_str(), path.c_str(),
              static_cast<long long>(t.world_size));
  return ckpt;
}

Start start_or_resume(const Config& config, const Comm& comm, const Inputs& inputs, Model<float>& model,
                      Optimizer& optimizer) {
  std::optional<Checkpoint> ckpt;
  std::string run_id;
  const WatchPoint checking{"in the start-up check of the checkpoint"};
  collectively(comm, checking, [&] {
    if (!comm.is_root()) return;
    lock_out_dir(config.out_dir);
    ckpt = load_resume_checkpoint(config, inputs, model.plan().spec, optimizer.state());
    if (ckpt) {
      run_id = ckpt->training.run_id;
      bring_files_to_agree(config, *ckpt);
    } else {
      run_id = claim_out_dir(config);
      std::printf("Run %s starts in %s.\n", run_id.c_str(), config.out_dir.c_str());
    }
    held_lock().record_run_id(run_id);
  });
  Start start;
  start.state = initial_state(config, inputs, comm.size());
  comm.broadcast(run_id, checking);
  start.state.run_id = run_id;
  std::int64_t resumed = ckpt.has_value();
  comm.broadcast(&resumed, 1, checking);
  start.resumed = resumed != 0;
  if (!start.resumed) {
    model.init(config.seed);
    comm.broadcast(model.params(), model.num_params(), WatchPoint{"in the broadcast of the initial weights"});
    return start;
  }
  // Every rank now expects what rank 0 checked: the model's weights and this optimizer's slots.
  const std::size_t n = model.num_params();
  if (comm.is_root()) std::copy(ckpt->weights.begin(), ckpt->weights.end(), model.params());
  comm.broadcast(model.params(), n, WatchPoint{"in the broadcast of the resumed weights"});
  OptimizerState opt = comm.is_root() ? ckpt->optimizer : optimizer.state();
  const WatchPoint sending_state{"in the broadcast of the resumed optimizer state"};
  comm.broadcast(&opt.iterations, 1, sending_state);
  for (OptimizerSlot& slot : opt.slots) comm.broadcast(slot.data.data(), n, sending_state);
  optimizer.restore(opt);
  TrainingState recorded = comm.is_root() ? ckpt->training : start.state;
  visit_training_fields(recorded, [&](const SettingInfo& info, auto& field) {
    if (info.checkpoint == Ckpt::restore) broadcast_field(comm, field, WatchPoint{"in the broadcast of the resumed counters"});
  });
  copy_restored_fields(recorded, start.state);
  if (comm.is_root()) start.history = ckpt->history;
  return start;
}

Checkpoint make_checkpoint(const Model<float>& model, const std::string& training_config, const Optimizer& optimizer,
                           const TrainingState& state, const History& history,
                           const std::optional<Evaluation>& evaluation) {
  Checkpoint c;
  c.model = model.plan().spec;
  c.training_config = training_config;
  c.weights.assign(model.params(), model.params() + model.num_params());
  c.optimizer = optimizer.state();
  c.training = state;
  c.history = history;
  c.evaluation = evaluation;
  return c;
}

}  // namespace fmnist
