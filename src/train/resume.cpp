// Starting and resuming (docs/models.md: Checkpoints, resume and fmnist_inspect). Validate, then broadcast:
// rank 0 checks the whole checkpoint against this run, the ranks agree on the outcome, and only a
// checkpoint that fits is sent, so every rank receives exactly what it expects (never an MPI error).
#include "resume.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <type_traits>

#include "collective.hpp"
#include "fmnist/error.hpp"
#include "fmnist/kernel_isa.hpp"

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

}  // namespace

void prepare_out_dir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(Exit::checkpoint, "--out-dir " + dir + ": cannot create the folder: " + ec.message());
  const std::string probe = dir + "/.write_test." + std::to_string(getpid());
  {
    std::ofstream out(probe);
    if (!out || !(out << "probe\n") || !out.flush())
      throw Error(Exit::checkpoint, "--out-dir " + dir + ": the folder is not writable");
  }
  std::filesystem::remove(probe, ec);
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
  std::string path = config.resume;
  if (path == "auto") {
    path = config.out_dir + "/checkpoint.h5";
    if (!std::filesystem::exists(path)) {
      std::printf("--resume auto: no checkpoint at %s, starting fresh.\n", path.c_str());
      return std::nullopt;
    }
  }
  Checkpoint ckpt = read_checkpoint(path);
  const std::string difference = first_difference(ckpt.model, model);
  if (!difference.empty()) incompatible(path, "another model: " + difference);
  check_training(path, ckpt.training, initial_state(config, inputs, 1));
  ckpt.optimizer = check_optimizer(path, ckpt.optimizer, expected);
  const TrainingState& t = ckpt.training;
  if (t.isa != "unknown" && t.isa != kernel_isa())
    std::printf("Note: %s was written by kernels built for %s, these are built for %s: the run continues, but "
                "not to the same bytes as on the first kind.\n", path.c_str(), t.isa.c_str(), kernel_isa().c_str());
  std::printf("Resuming from %s (written by %lld rank(s)).\n", path.c_str(),
              static_cast<long long>(ckpt.training.world_size));
  return ckpt;
}

Start start_or_resume(const Config& config, const Comm& comm, const Inputs& inputs, Model<float>& model,
                      Optimizer& optimizer) {
  std::optional<Checkpoint> ckpt;
  const WatchPoint checking{"in the start-up check of the checkpoint"};
  collectively(comm, checking, [&] {
    if (!comm.is_root()) return;
    prepare_out_dir(config.out_dir);
    ckpt = load_resume_checkpoint(config, inputs, model.plan().spec, optimizer.state());
  });
  Start start;
  start.state = initial_state(config, inputs, comm.size());
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
