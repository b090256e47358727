// Rank 0's side of checkpoints: where to resume from, whether that checkpoint belongs to a
// run with the same mathematics (model, batch, split, seed, optimizer, data), and what to save.
#include "resume.hpp"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "fmnist/error.hpp"
#include "fmnist/kernel_isa.hpp"

namespace fmnist {
namespace {

template <typename T>
void require_equal(const std::string& path, const char* field, const T& in_checkpoint, const T& in_run,
                   const char* option) {
  if (in_checkpoint == in_run) return;
  std::ostringstream out;
  out << path << ": incompatible checkpoint: " << field << " is " << in_checkpoint << " in the checkpoint but "
      << in_run << " in this run (" << option << ")";
  throw Error(Exit::checkpoint, out.str());
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
  s.world_size = world_size;
  s.batch_size = config.batch_size;
  s.epochs = config.epochs;
  s.seed = config.seed;
  s.split_seed = config.split_seed;
  s.val_split = config.val_split;
  s.optimizer = config.optimizer;
  s.lr = config.lr;
  s.rmsprop_form = config.rmsprop_form;
  s.num_train = static_cast<std::int64_t>(inputs.train.size());
  s.data_fingerprint = inputs.train_fingerprint;
  s.isa = kernel_isa();
  return s;
}

std::optional<Checkpoint> load_resume_checkpoint(const Config& config, const Inputs& inputs, const ModelSpec& model) {
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
  if (!difference.empty())
    throw Error(Exit::checkpoint, path + ": incompatible checkpoint: another model: " + difference);
  const TrainingState& t = ckpt.training;
  const TrainingState run = initial_state(config, inputs, 1);
  require_equal(path, "batch_size", t.batch_size, run.batch_size, "--batch-size");
  require_equal(path, "val_split", t.val_split, run.val_split, "--val-split");
  require_equal(path, "split_seed", t.split_seed, run.split_seed, "--split-seed");
  require_equal(path, "seed", t.seed, run.seed, "--seed");
  require_equal(path, "optimizer", t.optimizer, run.optimizer, "--optimizer");
  if (run.optimizer == "rmsprop") require_equal(path, "rmsprop_form", t.rmsprop_form, run.rmsprop_form, "--rmsprop-form");
  require_equal(path, "num_train", t.num_train, run.num_train, "the training data");
  require_equal(path, "data_fingerprint", t.data_fingerprint, run.data_fingerprint, "the training data");
  if (t.lr != run.lr)
    std::printf("Note: the checkpoint was trained with lr %g; continuing with --lr %g.\n", t.lr, run.lr);
  if (t.isa != run.isa)
    std::printf("Note: %s was written by kernels built for %s, these are built for %s: the run continues, but "
                "not to the same bytes as on the first kind.\n", path.c_str(), t.isa.c_str(), run.isa.c_str());
  std::printf("Resuming from %s (written by %lld rank(s)).\n", path.c_str(), static_cast<long long>(t.world_size));
  return ckpt;
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
