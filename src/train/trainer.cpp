// The training loop on one rank (docs/computing.md): each rank trains on its contiguous run of
// the micro-batches of each global batch of the epoch's permutation, one in-place allreduce per step
// sums [gradients | loss | correct | samples | stop | diverged] in fixed point, and every rank takes
// the same step. Set-up: resume.cpp; evaluation.cpp; lines printed: reporter.cpp; files: outputs.cpp.
// Keras's callbacks (callbacks.cpp) decide at each epoch's end on every rank from the same figures.
#include "fmnist/trainer.hpp"

#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>

#include "callbacks.hpp"
#include "collective.hpp"
#include "evaluation.hpp"
#include "exact_sum.hpp"
#include "fmnist/checkpoint.hpp"
#include "fmnist/model.hpp"
#include "fmnist/optimizer.hpp"
#include "inputs.hpp"
#include "outputs.hpp"
#include "reporter.hpp"
#include "resume.hpp"
#include "share.hpp"
#include "stop_signal.hpp"
#include "test_hooks.hpp"

namespace fmnist {
namespace {

// Tail of the allreduce buffer, after the gradients: the batch's loss sum (fixed point),
// correct predictions, samples, ranks asking to stop, and micro-batches whose values diverged.
enum Tail : std::size_t { kLossSum = 0, kCorrect, kSamples, kStop, kDiverged, kTailSize };

static_assert(kNormMaxTerms >= static_cast<std::size_t>(kMaxMicroBatches),
              "the BatchNormalization statistics' fixed point must hold a step's micro-batches");

// Images a rank may hold for one step: every micro-batch of the global batch (one rank).
std::size_t micro_batch_slots(const Config& config) {
  const std::size_t m = static_cast<std::size_t>(config.micro_batch);
  return (static_cast<std::size_t>(config.batch_size) + m - 1) / m * m;
}

OptimizerConfig optimizer_config(const Config& c) {
  OptimizerConfig oc;
  oc.name = to_text(c.optimizer);
  oc.lr = c.lr;
  oc.momentum = c.momentum;
  oc.form = c.rmsprop_form;
  return oc;
}

class Job {
 public:
  Job(const Config& config, const Comm& comm, const ModelSpec& model)
      : config_(config), comm_(comm), model_(model, config.micro_batch),
        optimizer_(make_optimizer(optimizer_config(config), model_.num_params())),
        files_(config.out_dir, comm, keras_training_config(model, keras_optimizer_config(optimizer_config(config))),
               model_, *optimizer_),
        report_(config, comm), x_(micro_batch_slots(config) * kImagePixels), y_(micro_batch_slots(config)),
        buffer_(model_.num_params() + kTailSize) {}

  int run();

 private:
  enum class Outcome { completed, stopped, max_steps };
  void setup();
  void check_same_settings() const;
  void check_same_data() const;
  Outcome train_epoch(std::int64_t epoch);
  void step_gradients(const std::vector<std::uint32_t>& perm, std::size_t first, std::size_t lo, std::size_t hi);
  void apply_step(std::int64_t epoch);
  void end_epoch(std::int64_t epoch);
  Figures validation_figures();
  void load_best_weights();
  void restore_best_weights();
  WatchPoint after_epoch(const char* what) const {
    return {what, state_.step, std::min<std::int64_t>(state_.epoch + 1, config_.epochs)};
  }

  const Config& config_;
  const Comm& comm_;
  Inputs inputs_;
  Model<float> model_;
  std::unique_ptr<Optimizer> optimizer_;
  RunFiles files_;                     // rank 0 writes
  Reporter report_;                    // rank 0 prints
  std::vector<float> x_;               // (micro_batch_slots, 28, 28, 1): a rank's micro-batches of one step
  std::vector<std::uint8_t> y_;        // (micro_batch_slots)
  std::vector<std::int64_t> buffer_;   // (num_params + kTailSize): the one allreduce per step, fixed point
  TrainingState state_;
  History history_;                    // rank 0; elsewhere only what the callbacks read (NaN before a resume)
  std::int64_t steps_per_epoch_ = 0;
  CallbackConfig callbacks_;
  LrSchedule schedule_;
  std::vector<float> best_weights_;    // (num_params): EarlyStopping's best epoch's weights, every rank
  double last_lr_ = 0;                 // the rate of the last step, as the optimizer applied it (float32)
};

int Job::run() {
  install_stop_handlers();
  setup();
  const auto stopped_early = [&] { return callbacks_.early_stopping.enabled && state_.early_stopping_stopped_epoch > 0; };
  for (std::int64_t epoch = state_.epoch; epoch < config_.epochs && !stopped_early(); ++epoch) {
    const Outcome outcome = train_epoch(epoch);
    if (outcome == Outcome::completed) continue;
    if (state_.step_in_epoch != 0) files_.save_checkpoint(state_, history_, std::nullopt);  // else end_epoch did
    if (outcome == Outcome::stopped) {
      report_.stopped(state_.step);
      return static_cast<int>(Exit::stopped);
    }
    report_.reached_max_steps();
    return 0;
  }
  restore_best_weights();
  if (inputs_.test.size() == 0) {
    report_.say("No test data given (--test-csv): no test evaluation.");
    return 0;
  }
  test_hooks::freeze_at(comm_.rank(), "test_evaluation");
  const std::optional<Figures> test = evaluate(model_, inputs_.test, config_, comm_, after_epoch("in the evaluation after"));
  if (comm_.is_root()) {
    comm_.keep_alive();
    test_hooks::freeze_at(comm_.rank(), "last_checkpoint");
    files_.save_checkpoint(state_, history_, Evaluation{test->loss, test->accuracy});
    report_.test(test->loss, test->accuracy);
  }
  return 0;
}

void Job::setup() {
  check_same_settings();
  take_out_dir(config_, comm_);
  collectively(comm_, WatchPoint{"in the start-up check of the data"}, [&] { inputs_ = load_inputs(config_); });
  check_same_data();
  steps_per_epoch_ = (static_cast<std::int64_t>(inputs_.train.size()) + config_.batch_size - 1) / config_.batch_size;
  callbacks_ = callback_config(config_);
  schedule_ = plan_schedule(callbacks_.schedule, steps_per_epoch_, config_.epochs);
  files_.set_training_config(with_keras_schedule(
      keras_training_config(model_.plan().spec, keras_optimizer_config(optimizer_config(config_))), schedule_,
      config_.lr));
  Start start = start_or_resume(config_, comm_, inputs_, model_, *optimizer_);
  state_ = start.state;
  history_ = std::move(start.history);
  if (!start.resumed) static_cast<CallbackState&>(state_) = initial_callback_state(callbacks_, config_.lr);
  complete_callback_state(state_, callbacks_, config_.lr);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (std::int64_t e = static_cast<std::int64_t>(history_.epochs()); e < state_.epoch; ++e)
    history_.add(nan, nan, nan, nan, nan);  // ranks but 0: the callbacks count epochs from the history
  if (start.resumed) report_.resumed(state_);
  load_best_weights();
  if (comm_.is_root() && state_.step == 0) std::printf("%s\n", model_summary(model_.plan()).c_str());
  report_.start(inputs_.train.size(), inputs_.validation.size(), inputs_.source, steps_per_epoch_);
}

// The settings every rank must share (describe()) and the model, by a digest of its Keras JSON.
void Job::check_same_settings() const {
  const std::uint64_t model_digest = fingerprint(to_keras_json(model_.plan().spec));
  const std::string difference =
      comm_.compare_with_root(describe(config_) + "model (FNV-1a of its Keras JSON)=" + std::to_string(model_digest) + "\n",
                              WatchPoint{"in the start-up check of the options"});
  if (!difference.empty()) throw CollectiveError(Exit::usage, "ranks disagree on the options: " + difference);
}

void Job::check_same_data() const {
  const std::string data = "train_fingerprint=" + std::to_string(inputs_.train_fingerprint) +
                           "\nvalidation_fingerprint=" + std::to_string(fingerprint(inputs_.validation)) +
                           "\ntest_fingerprint=" + std::to_string(fingerprint(inputs_.test)) +
                           "\nparameters=" + std::to_string(model_.num_params()) + "\n";
  const std::string difference = comm_.compare_with_root(data, WatchPoint{"in the start-up check of the data"});
  if (!difference.empty()) throw CollectiveError(Exit::data, "ranks read different data: " + difference);
}

// One epoch from state_.step_in_epoch on: per step, this rank's gradients, one allreduce, the same
// optimizer step on every rank; then the epoch's evaluation, line and files.
Job::Outcome Job::train_epoch(std::int64_t epoch) {
  const std::vector<std::uint32_t> perm =
      epoch_permutation(static_cast<std::uint32_t>(inputs_.train.size()), config_.seed, static_cast<std::uint64_t>(epoch));
  const std::size_t n = inputs_.train.size(), batch = static_cast<std::size_t>(config_.batch_size);
  const Clock::time_point start = Clock::now();
  const double seconds_before = state_.epoch_seconds;
  Profile& timers = report_.timers;
  for (std::int64_t b = state_.step_in_epoch; b < steps_per_epoch_; ++b) {
    test_hooks::before_step(comm_.rank(), state_.step);
    const std::size_t first = static_cast<std::size_t>(b) * batch, len = std::min(batch, n - first);
    const auto [lo, hi] = rank_share(first, len, static_cast<std::size_t>(config_.micro_batch), comm_.rank(), comm_.size());
    Clock::time_point t0 = Clock::now();
    step_gradients(perm, first, lo, hi);
    timers.compute += seconds_since(t0);
    t0 = Clock::now();
    comm_.allreduce_sum(buffer_.data(), buffer_.size(), WatchPoint{"at", state_.step + 1, epoch + 1});
    timers.allreduce += seconds_since(t0);
    t0 = Clock::now();
    apply_step(epoch);
    timers.update += seconds_since(t0);
    state_.step_in_epoch = b + 1;
    state_.epoch_seconds = seconds_before + seconds_since(start);
    report_.progress(epoch, b + 1, steps_per_epoch_, state_);
    const bool last = b + 1 == steps_per_epoch_;
    if (buffer_[model_.num_params() + kStop] > 0) return Outcome::stopped;
    if (config_.max_steps > 0 && state_.step >= config_.max_steps && !last) return Outcome::max_steps;
    if (config_.checkpoint_every > 0 && state_.step % config_.checkpoint_every == 0 && !last)
      files_.save_checkpoint(state_, history_, std::nullopt);
  }
  report_.end_progress();
  if (config_.profile) report_.print_profile(state_.epoch_seconds, inputs_.train.size(), after_epoch("in the profile after"));
  end_epoch(epoch);
  if (config_.max_steps > 0 && state_.step >= config_.max_steps && epoch + 1 < config_.epochs)
    return Outcome::max_steps;
  return Outcome::completed;
}

// Sums the gradients, loss and correct count of this rank's micro-batches of the global batch
// (which starts at perm[first]) into buffer_, each micro-batch's in fixed point (see
// exact_sum.hpp). Dropout masks follow each sample's position in the global batch;
// BatchNormalization statistics are summed over the global batch through the exchange.
void Job::step_gradients(const std::vector<std::uint32_t>& perm, std::size_t first, std::size_t lo, std::size_t hi) {
  std::fill(buffer_.begin(), buffer_.end(), 0);
  const std::size_t m = static_cast<std::size_t>(config_.micro_batch);
  std::vector<MicroBatch<float>> batches;
  for (std::size_t at = lo; at < hi; at += m) {
    const std::size_t n = std::min(hi - at, m), slot = batches.size() * m;
    load_batch(inputs_.train, perm.data() + at, n, x_.data() + slot * kImagePixels, y_.data() + slot);
    batches.push_back({x_.data() + slot * kImagePixels, y_.data() + slot, static_cast<int>(n),
                       DropoutContext{config_.seed, state_.step, static_cast<std::int64_t>(at - first)}});
  }
  const WatchPoint where{"in the BatchNormalization statistics at", state_.step + 1, state_.epoch + 1};
  const Exchange exchange = [&](std::int64_t* sums, std::size_t n) { comm_.allreduce_sum(sums, n, where); };
  const GradientSink sink = [&](std::size_t begin, std::size_t end) {
    return add_fixed(model_.grads() + begin, buffer_.data() + begin, end - begin);
  };
  const StepResult step = model_.train_step(batches, exchange, sink);
  std::int64_t* tail = buffer_.data() + model_.num_params();
  for (std::size_t j = 0; j < batches.size(); ++j) {
    tail[kDiverged] += add_fixed(step.batches[j].loss_sum, &tail[kLossSum]) ? 0 : 1;
    tail[kCorrect] += step.batches[j].correct;
    tail[kSamples] += batches[j].n;
  }
  tail[kDiverged] += step.fine ? 0 : 1;
  tail[kStop] = stop_requested() ? 1 : 0;
}

// After the allreduce: the same step on every rank from the global sums in buffer_, and the
// epoch's running figures. A diverged batch ends the run on every rank alike.
void Job::apply_step(std::int64_t epoch) {
  const std::int64_t* tail = buffer_.data() + model_.num_params();
  const double loss_sum = from_fixed(tail[kLossSum]);
  if (tail[kDiverged] > 0 || !std::isfinite(loss_sum))
    throw CollectiveError(Exit::diverged, "the training diverged at step " + std::to_string(state_.step + 1) +
                                              " (epoch " + std::to_string(epoch + 1) +
                                              "): the loss or a gradient became NaN, infinite or huge; the last "
                                              "finite checkpoint is kept. Lower --lr.");
  // The mean gradient over the global batch, into the (now free) gradient arena.
  const double scale = 1.0 / (kFixedScale * static_cast<double>(tail[kSamples]));
  float* mean = model_.grads();
  for (std::size_t i = 0; i < model_.num_params(); ++i) mean[i] = static_cast<float>(static_cast<double>(buffer_[i]) * scale);
  optimizer_->set_lr(scheduled_lr(schedule_, state_.base_lr, state_.step));
  last_lr_ = static_cast<float>(optimizer_->lr());
  optimizer_->step(model_.params(), mean);
  state_.step += 1;
  state_.epoch_loss_sum += loss_sum;
  state_.epoch_correct += tail[kCorrect];
  state_.epoch_samples += tail[kSamples];
}

// After the epoch's last step: validation, the figures every rank's callbacks read, their decision
// (every rank alike), then rank 0's line and files. best.h5 follows EarlyStopping's best epoch when it
// is on (its monitor), else the lowest val_loss.
void Job::end_epoch(std::int64_t epoch) {
  test_hooks::freeze_at(comm_.rank(), "evaluation");
  const Figures val = validation_figures();
  const double seconds = state_.epoch_seconds;
  const double loss = state_.epoch_loss_sum / static_cast<double>(state_.epoch_samples);
  const double accuracy = static_cast<double>(state_.epoch_correct) / static_cast<double>(state_.epoch_samples);
  state_.epoch = epoch + 1;
  state_.step_in_epoch = 0;
  state_.epoch_loss_sum = 0;
  state_.epoch_correct = 0;
  state_.epoch_samples = 0;
  state_.epoch_seconds = 0;
  const bool lowest = history_.epochs() == 0 || val.loss < state_.best_val_loss;
  history_.add(loss, accuracy, val.loss, val.accuracy, seconds, last_lr_);
  const EpochDecision d = end_of_epoch(callbacks_, history_, state_);
  if (d.keep_weights) best_weights_.assign(model_.params(), model_.params() + model_.num_params());
  if (!comm_.is_root()) return;
  if (lowest) state_.best_val_loss = val.loss;
  report_.epoch(epoch, steps_per_epoch_, {loss, accuracy, val.loss, val.accuracy, seconds, last_lr_});
  for (const std::string& line : decision_messages(d, epoch + 1)) report_.say(line);
  files_.save_epoch(state_, history_, callbacks_.early_stopping.enabled ? d.keep_weights : lowest);
}

// The epoch's validation figures on every rank that needs them: with --eval-ranks 0 and a callback
// watching them, rank 0 sends them in one broadcast; otherwise the ranks but 0 hold NaN (unread).
Figures Job::validation_figures() {
  const std::optional<Figures> val = evaluate(model_, inputs_.validation, config_, comm_, after_epoch("in the evaluation after"));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  double figures[2] = {val ? val->loss : nan, val ? val->accuracy : nan};
  const bool watched = callbacks_.early_stopping.enabled || callbacks_.plateau.enabled;
  if (watched && config_.eval_ranks == EvalRanks::root)
    comm_.broadcast(figures, 2, after_epoch("in the end-of-epoch figures after"));
  return {figures[0], figures[1]};
}

// A resumed run with EarlyStopping: the best epoch's weights. A checkpoint written at the end of the
// best epoch holds them itself (a kill between checkpoint.h5 and best.h5, which the epoch's end writes
// in that order, may have left an older best.h5: it is written again); otherwise best.h5 holds them
// (rank 0 reads, all receive).
void Job::load_best_weights() {
  const std::int64_t best_epoch = state_.early_stopping_best_epoch;
  if (!callbacks_.early_stopping.enabled || best_epoch == 0) return;
  if (best_epoch == state_.epoch && state_.step_in_epoch == 0) {
    best_weights_.assign(model_.params(), model_.params() + model_.num_params());
    files_.save_best(state_, history_);
    return;
  }
  best_weights_.resize(model_.num_params());
  const WatchPoint reading{"in the start-up check of the checkpoint"};
  collectively(comm_, reading, [&] {
    if (!comm_.is_root()) return;
    const std::string path = config_.out_dir + "/best.h5";
    const Checkpoint best = read_checkpoint(path);
    if (!best.training.run_id.empty() && best.training.run_id != state_.run_id)
      throw Error(Exit::checkpoint, path + ": belongs to run " + best.training.run_id + ", not to run " + state_.run_id +
                                        " which this run continues: its weights cannot be restored");
    if (best.training.epoch != best_epoch || best.weights.size() != best_weights_.size())
      throw Error(Exit::checkpoint, path + ": holds epoch " + std::to_string(best.training.epoch) +
                                        " but the checkpoint's EarlyStopping best epoch is " +
                                        std::to_string(best_epoch) + ": its weights cannot be restored");
    best_weights_ = best.weights;
  });
  comm_.broadcast(best_weights_.data(), best_weights_.size(), WatchPoint{"in the broadcast of the resumed weights"});
}

// After the last epoch with EarlyStopping on: its best epoch's weights, whether it stopped early or
// not (Keras restores only after an early stop; keras#12511).
void Job::restore_best_weights() {
  if (!callbacks_.early_stopping.enabled || best_weights_.empty()) return;
  report_.say(restore_message(state_.early_stopping_best_epoch));
  std::copy(best_weights_.begin(), best_weights_.end(), model_.params());
}

}  // namespace

int run_training(const Config& config, const Comm& comm) {
  ModelSpec model;
  collectively(comm, WatchPoint{"in the start-up check of the model"}, [&] {
    check_callback_config(callback_config(config), config.epochs);
    model = load_model_spec(config);
  });
  if (config.print_model) {
    if (comm.is_root()) std::printf("%s\n", to_keras_json(model, 2).c_str());
    return 0;
  }
  Job job(config, comm, model);
  return job.run();
}

}  // namespace fmnist
