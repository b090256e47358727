// The training loop on one rank (docs/computing.md): each rank trains on its contiguous run of
// the micro-batches of each global batch of the epoch's permutation, one in-place allreduce per step
// sums [gradients | loss | correct | samples | stop | diverged] in fixed point (step_reducer.cpp), and
// every rank takes the same step. Set-up: resume.cpp; evaluation.cpp; lines printed: reporter.cpp;
// files: outputs.cpp; Keras's callbacks (callback_runner.cpp) decide at each epoch's end on every rank.
#include "fmnist/trainer.hpp"

#include <algorithm>
#include <cstdio>
#include <optional>

#include "callback_runner.hpp"
#include "collective.hpp"
#include "evaluation.hpp"
#include "fmnist/checkpoint.hpp"
#include "fmnist/model.hpp"
#include "fmnist/optimizer.hpp"
#include "fmnist/regularization.hpp"
#include "inputs.hpp"
#include "outputs.hpp"
#include "reporter.hpp"
#include "resume.hpp"
#include "share.hpp"
#include "step_reducer.hpp"
#include "test_hooks.hpp"

namespace fmnist {
namespace {

// What a checkpoint records of the run's progress (/training and /history): rank 0's; the other ranks
// hold the same state and, in the history, only what the callbacks read (NaN before a resume).
struct RunRecord {
  TrainingState state;
  History history;
};

// Optimizer steps per epoch: global batches of the training split, the last one possibly short.
std::int64_t epoch_steps(const Config& config, const Inputs& inputs) {
  return (static_cast<std::int64_t>(inputs.train.size()) + config.batch_size - 1) / config.batch_size;
}

// The settings every rank must share (describe()) and the model, by a digest of its Keras JSON.
void check_same_settings(const Config& config, const Comm& comm, const ModelSpec& model) {
  const std::uint64_t model_digest = fingerprint(to_keras_json(model));
  const std::string difference =
      comm.compare_with_root(describe(config) + "model (FNV-1a of its Keras JSON)=" + std::to_string(model_digest) + "\n",
                             WatchPoint{"in the start-up check of the options"});
  if (!difference.empty()) throw CollectiveError(Exit::usage, "ranks disagree on the options: " + difference);
}

void check_same_data(const Comm& comm, const Inputs& inputs, std::size_t num_params) {
  const std::string data = "train_fingerprint=" + std::to_string(inputs.train_fingerprint) +
                           "\nvalidation_fingerprint=" + std::to_string(fingerprint(inputs.validation)) +
                           "\ntest_fingerprint=" + std::to_string(fingerprint(inputs.test)) +
                           "\nparameters=" + std::to_string(num_params) + "\n";
  const std::string difference = comm.compare_with_root(data, WatchPoint{"in the start-up check of the data"});
  if (!difference.empty()) throw CollectiveError(Exit::data, "ranks read different data: " + difference);
}

class Job {
 public:
  Job(const Config& config, const Comm& comm, const ModelSpec& model, Inputs inputs)
      : config_(config), comm_(comm), inputs_(std::move(inputs)), model_(model, config.micro_batch),
        optimizer_(make_optimizer(config, model_.num_params(), {}, trainable_ranges(model_.plan()))),
        regularized_(has_regularizers(model_.plan())),
        callbacks_(config, comm, epoch_steps(config, inputs_)),
        files_(config.out_dir, comm, callbacks_.training_config(model), model_, *optimizer_), report_(config, comm),
        reducer_(config, comm, model_.num_params()) {
    model_.set_label_smoothing(config.label_smoothing);
  }

  int run();

 private:
  enum class Outcome { completed, stopped, max_steps };
  void setup();
  Outcome train_epoch(std::int64_t epoch);
  StepSums apply_step(std::int64_t epoch);
  void end_epoch(std::int64_t epoch);
  std::int64_t steps_per_epoch() const { return epoch_steps(config_, inputs_); }
  WatchPoint after_epoch(const char* what) const {
    return {what, run_.state.step, std::min<std::int64_t>(run_.state.epoch + 1, config_.epochs)};
  }

  const Config& config_;
  const Comm& comm_;
  const Inputs inputs_;
  Model<float> model_;
  std::unique_ptr<Optimizer> optimizer_;
  bool regularized_;          // the model has weight regularizers: their penalty joins the loss
  CallbackRunner callbacks_;  // the schedule, the callbacks' decisions, EarlyStopping's best weights
  RunFiles files_;            // rank 0 writes
  Reporter report_;           // rank 0 prints
  StepReducer reducer_;       // the one allreduce per step
  RunRecord run_;
};

int Job::run() {
  setup();
  for (std::int64_t epoch = run_.state.epoch; epoch < config_.epochs && !callbacks_.stopped(run_.state); ++epoch) {
    const Outcome outcome = train_epoch(epoch);
    if (outcome == Outcome::completed) continue;
    if (run_.state.step_in_epoch != 0) files_.save_checkpoint(run_.state, run_.history, std::nullopt);  // else end_epoch did
    if (outcome == Outcome::stopped) {
      report_.stopped(run_.state.step);
      return static_cast<int>(Exit::stopped);
    }
    report_.reached_max_steps();
    return 0;
  }
  if (const std::optional<std::string> line = callbacks_.restore_best_weights(run_.state, model_)) report_.say(*line);
  if (inputs_.test.size() == 0) {
    report_.say("No test data given (--test-csv): no test evaluation.");
    return 0;
  }
  test_hooks::freeze_at(comm_.rank(), "test_evaluation");
  const std::optional<Figures> test = evaluate(model_, inputs_.test, config_, comm_, after_epoch("in the evaluation after"));
  if (comm_.is_root()) {
    comm_.keep_alive();
    test_hooks::freeze_at(comm_.rank(), "last_checkpoint");
    files_.save_checkpoint(run_.state, run_.history, Evaluation{test->loss, test->accuracy});
    report_.test(test->loss, test->accuracy);
  }
  return 0;
}

void Job::setup() {
  Start start = start_or_resume(config_, comm_, inputs_, model_, *optimizer_);
  run_ = {start.state, std::move(start.history)};
  callbacks_.start(start.resumed, run_.state, run_.history);
  if (start.resumed) report_.resumed(run_.state);
  callbacks_.load_best_weights(run_.state, run_.history, model_, files_);
  if (comm_.is_root() && run_.state.step == 0) std::printf("%s\n", model_summary(model_.plan()).c_str());
  report_.start(inputs_.train.size(), inputs_.validation.size(), inputs_.source, steps_per_epoch());
}

// One epoch from step_in_epoch on: per step, this rank's gradients, one allreduce, the same
// optimizer step on every rank; then the epoch's evaluation, line and files.
Job::Outcome Job::train_epoch(std::int64_t epoch) {
  TrainingState& s = run_.state;
  const std::vector<std::uint32_t> perm =
      epoch_permutation(static_cast<std::uint32_t>(inputs_.train.size()), config_.seed, static_cast<std::uint64_t>(epoch));
  const std::size_t n = inputs_.train.size(), batch = static_cast<std::size_t>(config_.batch_size);
  const Clock::time_point start = Clock::now();
  const double seconds_before = s.epoch_seconds;
  Profile& timers = report_.timers;
  for (std::int64_t b = s.step_in_epoch; b < steps_per_epoch(); ++b) {
    test_hooks::before_step(comm_.rank(), s.step);
    const std::size_t first = static_cast<std::size_t>(b) * batch, len = std::min(batch, n - first);
    const auto [lo, hi] = rank_share(first, len, static_cast<std::size_t>(config_.micro_batch), comm_.rank(), comm_.size());
    Clock::time_point t0 = Clock::now();
    reducer_.encode(model_, inputs_.train, perm, first, lo, hi, s.step,
                    WatchPoint{"in the BatchNormalization statistics at", s.step + 1, epoch + 1});
    timers.compute += seconds_since(t0);
    t0 = Clock::now();
    reducer_.allreduce(WatchPoint{"at", s.step + 1, epoch + 1});
    timers.allreduce += seconds_since(t0);
    t0 = Clock::now();
    const StepSums sums = apply_step(epoch);
    timers.update += seconds_since(t0);
    s.step_in_epoch = b + 1;
    s.epoch_seconds = seconds_before + seconds_since(start);
    report_.progress(epoch, b + 1, steps_per_epoch(), s);
    const bool last = b + 1 == steps_per_epoch();
    if (sums.stop) return Outcome::stopped;
    if (config_.max_steps > 0 && s.step >= config_.max_steps && !last) return Outcome::max_steps;
    if (config_.checkpoint_every > 0 && s.step % config_.checkpoint_every == 0 && !last)
      files_.save_checkpoint(s, run_.history, std::nullopt);
  }
  report_.end_progress();
  if (config_.profile) report_.print_profile(s.epoch_seconds, inputs_.train.size(), after_epoch("in the profile after"));
  end_epoch(epoch);
  if (config_.max_steps > 0 && s.step >= config_.max_steps && epoch + 1 < config_.epochs) return Outcome::max_steps;
  return Outcome::completed;
}

// After the allreduce: the same step on every rank from the global sums, and the epoch's running
// figures. The regularizers' penalty of the weights the batch saw joins the batch's loss, as Keras's
// compute_loss adds it, and its gradient the mean gradient (keras/src/trainers/trainer.py; the epoch's
// loss is Keras's Mean of the batch losses weighted by their samples). A diverged batch ends the run
// on every rank alike.
StepSums Job::apply_step(std::int64_t epoch) {
  TrainingState& s = run_.state;
  const StepSums sums = reducer_.decode(model_.grads());  // the mean gradient, into the (now free) gradient arena
  if (sums.diverged)
    throw CollectiveError(Exit::diverged, "the training diverged at step " + std::to_string(s.step + 1) + " (epoch " +
                                              std::to_string(epoch + 1) +
                                              "): the loss or a gradient became NaN, infinite or huge; the last "
                                              "finite checkpoint is kept. Lower --lr.");
  double penalty = 0;
  if (regularized_) {
    penalty = regularization_penalty(model_.plan(), model_.params());
    add_regularization_gradient(model_.plan(), model_.params(), model_.grads());
  }
  optimizer_->set_lr(callbacks_.rate(s, s.step));
  optimizer_->step(model_.params(), model_.grads());
  s.step += 1;
  s.epoch_loss_sum += sums.loss_sum + penalty * static_cast<double>(sums.samples);
  s.epoch_correct += sums.correct;
  s.epoch_samples += sums.samples;
  return sums;
}

// After the epoch's last step: validation, the figures every rank's callbacks read, their decision
// (every rank alike), then rank 0's line and files. best.h5 follows EarlyStopping's best epoch when it
// is on (its monitor), else the lowest val_loss.
void Job::end_epoch(std::int64_t epoch) {
  test_hooks::freeze_at(comm_.rank(), "evaluation");
  TrainingState& s = run_.state;
  const Figures val = callbacks_.validation_figures(
      evaluate(model_, inputs_.validation, config_, comm_, after_epoch("in the evaluation after")),
      after_epoch("in the end-of-epoch figures after"));
  const double samples = static_cast<double>(s.epoch_samples);
  const EpochRow row{.loss = s.epoch_loss_sum / samples,
                     .accuracy = static_cast<double>(s.epoch_correct) / samples,
                     .val_loss = val.loss,
                     .val_accuracy = val.accuracy,
                     .lr = static_cast<float>(callbacks_.rate(s, s.step - 1)),  // the last step's, as applied
                     .seconds = s.epoch_seconds};
  s.epoch = epoch + 1;
  s.step_in_epoch = 0;
  s.epoch_loss_sum = 0;
  s.epoch_correct = 0;
  s.epoch_samples = 0;
  s.epoch_seconds = 0;
  const bool lowest = run_.history.epochs() == 0 || val.loss < s.best_val_loss;
  run_.history.add(row);
  const EpochDecision d = callbacks_.end_epoch(run_.history, s, model_);
  if (!comm_.is_root()) return;
  if (lowest) s.best_val_loss = val.loss;
  report_.epoch(epoch, steps_per_epoch(), row);
  for (const std::string& line : decision_messages(d, epoch + 1)) report_.say(line);
  files_.save_epoch(s, run_.history, early_stopping_on(config_) ? d.keep_weights : lowest);
}

}  // namespace

int run_training(const Config& config, const Comm& comm) {
  ModelSpec model;
  collectively(comm, WatchPoint{"in the start-up check of the model"}, [&] { model = load_model_spec(config); });
  if (config.print_model) {
    if (comm.is_root()) std::printf("%s\n", to_keras_json(model, 2).c_str());
    return 0;
  }
  check_same_settings(config, comm, model);
  take_out_dir(config, comm);
  Inputs inputs;
  collectively(comm, WatchPoint{"in the start-up check of the data"}, [&] {
    test_hooks::freeze_at(comm.rank(), "data");
    inputs = load_inputs(config);
  });
  check_same_data(comm, inputs, plan_model(model).num_params);
  Job job(config, comm, model, std::move(inputs));
  return job.run();
}

}  // namespace fmnist
