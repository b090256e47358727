// The training job on one rank (README: How it computes): every rank derives the epoch's permutation from
// (seed, epoch), trains on its contiguous run of the micro-batches of each global batch, and
// joins one in-place allreduce per step over [gradients | loss sum | correct | samples | stop |
// diverged] in fixed point; then all ranks divide by the global sample count and take the same
// optimizer step. Rank 0 alone evaluates (unless --eval-ranks all), prints and writes files.
#include "fmnist/trainer.hpp"

#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <numeric>
#include <optional>

#include "fmnist/atomic_file.hpp"
#include "fmnist/checkpoint.hpp"
#include "fmnist/model.hpp"
#include "fmnist/optimizer.hpp"
#include "fmnist/report.hpp"
#include "inputs.hpp"
#include "exact_sum.hpp"
#include "resume.hpp"
#include "stop_signal.hpp"
#include "test_hooks.hpp"

namespace fmnist {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

// Runs f on every rank; if any rank fails, every rank throws the same CollectiveError.
template <typename F>
void collectively(const Comm& comm, const WatchPoint& at, F&& f) {
  int code = 0;
  std::string message;
  try {
    f();
  } catch (const Error& e) {
    code = e.exit_code();
    message = e.what();
  }
  code = comm.agree(code, message, at);
  if (code != 0) throw CollectiveError(static_cast<Exit>(code), message);
}

// Mean loss and accuracy over a dataset.
struct Figures {
  double loss = 0;
  double accuracy = 0;
};

// Where a rank's step time goes (printed per epoch with --profile).
struct Profile {
  double compute = 0;    // forward and backward of this rank's share
  double allreduce = 0;  // the allreduce, including waiting for the slowest rank
  double update = 0;     // scaling and the optimizer step
  void clear() { *this = Profile(); }
};

// Tail of the allreduce buffer, after the gradients: the batch's loss sum (fixed point),
// correct predictions, samples, ranks asking to stop, and micro-batches whose values diverged.
enum Tail : std::size_t { kLossSum = 0, kCorrect, kSamples, kStop, kDiverged, kTailSize };

class Job {
 public:
  Job(const Config& config, const Comm& comm, const ModelSpec& model)
      : config_(config), comm_(comm), model_(model, config.micro_batch), x_(config.micro_batch * kImagePixels),
        y_(config.micro_batch), indices_(config.micro_batch), buffer_(model_.num_params() + kTailSize) {}

  int run();

 private:
  void setup();
  void check_same_data();
  void start_or_resume();
  enum class Outcome { completed, stopped, max_steps };
  Outcome train_epoch(std::int64_t epoch);
  void step_gradients(const std::vector<std::uint32_t>& perm, std::size_t first, std::size_t lo, std::size_t hi);
  std::optional<Figures> evaluate(const Dataset& d);
  std::pair<std::size_t, std::size_t> my_share(std::size_t first, std::size_t len) const;
  void end_epoch(std::int64_t epoch, double seconds);
  void save_checkpoint() const;
  void print_profile(double seconds);
  void print_progress(std::int64_t epoch, std::int64_t step, std::int64_t steps) const;
  void say(const std::string& line) const;

  const Config& config_;
  const Comm& comm_;
  Inputs inputs_;
  Model<float> model_;
  std::unique_ptr<Optimizer> optimizer_;
  std::string training_config_;         // Keras's, for the checkpoints
  std::vector<float> x_;                // (micro_batch, 28, 28, 1)
  std::vector<std::uint8_t> y_;         // (micro_batch)
  std::vector<std::uint32_t> indices_;  // (micro_batch)
  std::vector<std::int64_t> buffer_;    // (num_params + kTailSize): the one allreduce per step, fixed point
  TrainingState state_;
  History history_;                     // rank 0
  std::optional<Evaluation> evaluation_;
  bool progress_ = false;
  Profile profile_;
  std::int64_t steps_per_epoch_ = 0;
};

void Job::say(const std::string& line) const {
  if (!comm_.is_root()) return;
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

int Job::run() {
  install_stop_handlers();
  setup();
  for (std::int64_t epoch = state_.epoch; epoch < config_.epochs; ++epoch) {
    const Outcome outcome = train_epoch(epoch);
    if (outcome == Outcome::completed) continue;
    if (state_.step_in_epoch != 0) save_checkpoint();  // at an epoch's end, end_epoch has saved it
    if (outcome == Outcome::stopped) {
      say("Stopped by a signal after step " + std::to_string(state_.step) + "; checkpoint written to " +
          config_.out_dir + "/checkpoint.h5. Continue with --resume auto.");
      return static_cast<int>(Exit::stopped);
    }
    say("Reached --max-steps " + std::to_string(config_.max_steps) + "; checkpoint written to " + config_.out_dir +
        "/checkpoint.h5.");
    return 0;
  }
  if (inputs_.test.size() == 0) {
    say("No test data given (--test-csv): no test evaluation.");
    return 0;
  }
  const std::optional<Figures> test = evaluate(inputs_.test);
  if (comm_.is_root()) {
    evaluation_ = Evaluation{test->loss, test->accuracy};
    comm_.keep_alive();
    test_hooks::freeze_at(comm_.rank(), "last_checkpoint");
    save_checkpoint();
    char line[128];
    std::snprintf(line, sizeof line, "test_loss: %.4f - test_accuracy: %.4f", test->loss, test->accuracy);
    say(line);
  }
  return 0;
}

void Job::setup() {
  const std::string model_hash = std::to_string(std::hash<std::string>()(to_keras_json(model_.plan().spec)));
  const std::string difference = comm_.compare_with_root(describe(config_) + "model (hash of its Keras JSON)=" + model_hash + "\n", WatchPoint{"in the start-up check of the options"});
  if (!difference.empty()) throw CollectiveError(Exit::usage, "ranks disagree on the options: " + difference);
  collectively(comm_, WatchPoint{"in the start-up check of the data"}, [&] { inputs_ = load_inputs(config_); });
  check_same_data();
  steps_per_epoch_ = (static_cast<std::int64_t>(inputs_.train.size()) + config_.batch_size - 1) / config_.batch_size;
  OptimizerConfig oc;
  oc.name = config_.optimizer;
  oc.lr = config_.lr;
  oc.momentum = config_.momentum;
  oc.form = config_.rmsprop_form == "keras3" ? RmspropForm::keras3 : RmspropForm::keras2;
  optimizer_ = make_optimizer(oc, model_.num_params());
  training_config_ = keras_training_config(model_.plan().spec, keras_optimizer_config(oc));
  progress_ = comm_.is_root() && (config_.progress == "always" || (config_.progress == "auto" && comm_.stdout_is_terminal()));
  start_or_resume();
  if (comm_.is_root() && state_.step == 0) std::printf("%s\n", model_summary(model_.plan()).c_str());
  const int micro_batches = (config_.batch_size + config_.micro_batch - 1) / config_.micro_batch;
  if (comm_.size() > micro_batches)
    say("Note: --batch-size " + std::to_string(config_.batch_size) + " makes " + std::to_string(micro_batches) +
        " micro-batch(es) of up to " + std::to_string(config_.micro_batch) + " images per step for " +
        std::to_string(comm_.size()) + " ranks, so some ranks idle; consider --micro-batch " +
        std::to_string(std::max(1, config_.batch_size / comm_.size())) + ".");
  say("Train on " + std::to_string(inputs_.train.size()) + " samples, validate on " +
      std::to_string(inputs_.validation.size()) + " samples (" + inputs_.source + "); " +
      std::to_string(comm_.size()) + " rank(s), global batch " + std::to_string(config_.batch_size) + ", " +
      std::to_string(steps_per_epoch_) + " steps per epoch");
}

void Job::check_same_data() {
  const std::string data = "train_fingerprint=" + std::to_string(inputs_.train_fingerprint) +
                           "\nvalidation_fingerprint=" + std::to_string(fingerprint(inputs_.validation)) +
                           "\ntest_fingerprint=" + std::to_string(fingerprint(inputs_.test)) +
                           "\nparameters=" + std::to_string(model_.num_params()) + "\n";
  const std::string difference = comm_.compare_with_root(data, WatchPoint{"in the start-up check of the data"});
  if (!difference.empty()) throw CollectiveError(Exit::data, "ranks read different data: " + difference);
}

void Job::start_or_resume() {
  std::optional<Checkpoint> ckpt;
  collectively(comm_, WatchPoint{"in the start-up check of the checkpoint"}, [&] {
    if (!comm_.is_root()) return;
    prepare_out_dir(config_.out_dir);
    ckpt = load_resume_checkpoint(config_, inputs_, model_.plan().spec);
  });
  std::int64_t resumed = ckpt.has_value();
  comm_.broadcast(&resumed, 1, WatchPoint{"in the start-up check of the checkpoint"});
  if (!resumed) {
    model_.init(config_.seed);
    comm_.broadcast(model_.params(), model_.num_params(), WatchPoint{"in the broadcast of the initial weights"});
    state_ = initial_state(config_, inputs_, comm_.size());
    return;
  }
  // Rank 0 holds the checkpoint; every rank needs the weights, optimizer state and counters.
  std::vector<float> weights = comm_.is_root() ? ckpt->weights : std::vector<float>();
  comm_.broadcast(weights, WatchPoint{"in the broadcast of the resumed weights"});
  std::copy(weights.begin(), weights.end(), model_.params());
  OptimizerState opt = comm_.is_root() ? ckpt->optimizer : optimizer_->state();
  comm_.broadcast(&opt.iterations, 1, WatchPoint{"in the broadcast of the resumed optimizer state"});
  for (auto& slot : opt.slots) comm_.broadcast(slot.data, WatchPoint{"in the broadcast of the resumed optimizer state"});
  optimizer_->restore(opt);
  if (comm_.is_root()) {
    state_ = ckpt->training;
    history_ = ckpt->history;
  }
  std::int64_t counters[] = {state_.epoch, state_.step, state_.step_in_epoch, state_.epoch_correct,
                             state_.epoch_samples};
  double sums[] = {state_.epoch_loss_sum, state_.epoch_seconds, state_.best_val_loss};
  comm_.broadcast(counters, 5, WatchPoint{"in the broadcast of the resumed counters"});
  comm_.broadcast(sums, 3, WatchPoint{"in the broadcast of the resumed counters"});
  TrainingState fresh = initial_state(config_, inputs_, comm_.size());
  fresh.epoch = counters[0];
  fresh.step = counters[1];
  fresh.step_in_epoch = counters[2];
  fresh.epoch_correct = counters[3];
  fresh.epoch_samples = counters[4];
  fresh.epoch_loss_sum = sums[0];
  fresh.epoch_seconds = sums[1];
  fresh.best_val_loss = sums[2];
  state_ = fresh;
  say("Resumed at epoch " + std::to_string(state_.epoch + 1) + ", step " + std::to_string(state_.step_in_epoch) +
      " of the epoch (" + std::to_string(state_.step) + " steps in total).");
}

// Sums the gradients, loss and correct count of this rank's micro-batches of the global batch
// (which starts at perm[first]) into buffer_, one micro-batch at a time, in fixed point (see
// exact_sum.hpp). Dropout masks follow each sample's position in the global batch.
void Job::step_gradients(const std::vector<std::uint32_t>& perm, std::size_t first, std::size_t lo, std::size_t hi) {
  std::fill(buffer_.begin(), buffer_.end(), 0);
  const std::size_t num_params = model_.num_params();
  std::int64_t* tail = buffer_.data() + num_params;
  for (std::size_t at = lo; at < hi; at += static_cast<std::size_t>(config_.micro_batch)) {
    const std::size_t n = std::min(hi - at, static_cast<std::size_t>(config_.micro_batch));
    load_batch(inputs_.train, perm.data() + at, n, x_.data(), y_.data());
    model_.zero_grads();
    const DropoutContext where{config_.seed, state_.step, static_cast<std::int64_t>(at - first)};
    const BatchStats s = model_.accumulate_gradients(x_.data(), y_.data(), static_cast<int>(n), where);
    const bool fine = add_fixed(model_.grads(), buffer_.data(), num_params) && add_fixed(s.loss_sum, &tail[kLossSum]);
    tail[kCorrect] += s.correct;
    tail[kSamples] += static_cast<std::int64_t>(n);
    tail[kDiverged] += fine ? 0 : 1;
  }
  tail[kStop] = stop_requested() ? 1 : 0;
}
Job::Outcome Job::train_epoch(std::int64_t epoch) {
  const std::vector<std::uint32_t> perm =
      epoch_permutation(static_cast<std::uint32_t>(inputs_.train.size()), config_.seed, static_cast<std::uint64_t>(epoch));
  const std::size_t n = inputs_.train.size(), batch = static_cast<std::size_t>(config_.batch_size);
  const Clock::time_point start = Clock::now();
  const double seconds_before = state_.epoch_seconds;
  for (std::int64_t b = state_.step_in_epoch; b < steps_per_epoch_; ++b) {
    test_hooks::before_step(comm_.rank(), state_.step);
    const std::size_t first = static_cast<std::size_t>(b) * batch, len = std::min(batch, n - first);
    const auto [lo, hi] = my_share(first, len);
    Clock::time_point t0 = Clock::now();
    step_gradients(perm, first, lo, hi);
    profile_.compute += seconds_since(t0);
    t0 = Clock::now();
    comm_.allreduce_sum(buffer_.data(), buffer_.size(), WatchPoint{"at", state_.step + 1, epoch + 1});
    profile_.allreduce += seconds_since(t0);
    t0 = Clock::now();
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
    optimizer_->step(model_.params(), mean);
    profile_.update += seconds_since(t0);
    state_.step += 1;
    state_.step_in_epoch = b + 1;
    state_.epoch_loss_sum += loss_sum;
    state_.epoch_correct += tail[kCorrect];
    state_.epoch_samples += tail[kSamples];
    state_.epoch_seconds = seconds_before + seconds_since(start);
    if (progress_) print_progress(epoch, b + 1, steps_per_epoch_);
    const bool last = b + 1 == steps_per_epoch_;
    if (tail[kStop] > 0) return Outcome::stopped;
    if (config_.max_steps > 0 && state_.step >= config_.max_steps && !last) return Outcome::max_steps;
    if (config_.checkpoint_every > 0 && state_.step % config_.checkpoint_every == 0 && !last && comm_.is_root())
      save_checkpoint();
  }
  if (progress_) std::printf("\r\033[K");
  if (config_.profile) print_profile(state_.epoch_seconds);
  end_epoch(epoch, state_.epoch_seconds);
  if (config_.max_steps > 0 && state_.step >= config_.max_steps && epoch + 1 < config_.epochs)
    return Outcome::max_steps;
  return Outcome::completed;
}

std::optional<Figures> Job::evaluate(const Dataset& d) {
  if (!config_.eval_all_ranks && !comm_.is_root()) return std::nullopt;
  const std::size_t n = d.size();
  const auto [lo, hi] = config_.eval_all_ranks ? my_share(0, n) : std::pair<std::size_t, std::size_t>(0, n);
  // The loss sum has one term per micro-batch of the whole set; a term too large for the exact sum
  // (a loss beyond about 2^31 / n per image) makes the mean loss infinite.
  const double limit = fixed_limit((n + static_cast<std::size_t>(config_.micro_batch) - 1) /
                                   static_cast<std::size_t>(config_.micro_batch));
  std::int64_t sums[3] = {0, 0, 0};  // loss sum (fixed point), correct, terms beyond the limit
  test_hooks::freeze_at(comm_.rank(), &d == &inputs_.test ? "test_evaluation" : "evaluation");
  for (std::size_t at = lo; at < hi; at += static_cast<std::size_t>(config_.micro_batch)) {
    comm_.keep_alive();  // the other ranks may be waiting for rank 0 alone
    const std::size_t m = std::min(hi - at, static_cast<std::size_t>(config_.micro_batch));
    std::iota(indices_.begin(), indices_.begin() + static_cast<std::ptrdiff_t>(m), static_cast<std::uint32_t>(at));
    load_batch(d, indices_.data(), m, x_.data(), y_.data());
    const BatchStats s = model_.evaluate(x_.data(), y_.data(), static_cast<int>(m));
    sums[2] += add_fixed(s.loss_sum, &sums[0], limit) ? 0 : 1;
    sums[1] += s.correct;
  }
  const WatchPoint at{"in the evaluation after", state_.step, std::min<std::int64_t>(state_.epoch + 1, config_.epochs)};
  if (config_.eval_all_ranks) comm_.allreduce_sum(sums, 3, at);
  const double loss = sums[2] > 0 ? std::numeric_limits<double>::infinity() : from_fixed(sums[0]) / static_cast<double>(n);
  return Figures{loss, static_cast<double>(sums[1]) / static_cast<double>(n)};
}

// Samples [first, first + len) are cut into micro-batches at fixed positions, and this rank
// takes a contiguous run of them: the cut, and so every float sum, is the same for any N.
std::pair<std::size_t, std::size_t> Job::my_share(std::size_t first, std::size_t len) const {
  const std::size_t m = static_cast<std::size_t>(config_.micro_batch), count = (len + m - 1) / m;
  const std::size_t ranks = static_cast<std::size_t>(comm_.size()), rank = static_cast<std::size_t>(comm_.rank());
  return {first + std::min(len, m * (count * rank / ranks)), first + std::min(len, m * (count * (rank + 1) / ranks))};
}

void Job::end_epoch(std::int64_t epoch, double seconds) {
  const std::optional<Figures> val = evaluate(inputs_.validation);
  const double loss = state_.epoch_loss_sum / static_cast<double>(state_.epoch_samples);
  const double accuracy = static_cast<double>(state_.epoch_correct) / static_cast<double>(state_.epoch_samples);
  state_.epoch = epoch + 1;
  state_.step_in_epoch = 0;
  state_.epoch_loss_sum = 0;
  state_.epoch_correct = 0;
  state_.epoch_samples = 0;
  state_.epoch_seconds = 0;
  if (!comm_.is_root()) return;
  const bool best = history_.epochs() == 0 || val->loss < state_.best_val_loss;
  history_.add(loss, accuracy, val->loss, val->accuracy, seconds);
  if (best) state_.best_val_loss = val->loss;
  char line[256];
  std::snprintf(line, sizeof line,
                "Epoch %lld/%d - %lld steps - %.1fs - loss: %.4f - accuracy: %.4f - val_loss: %.4f - val_accuracy: %.4f",
                static_cast<long long>(epoch + 1), config_.epochs, static_cast<long long>(steps_per_epoch_), seconds, loss,
                accuracy, val->loss, val->accuracy);
  say(line);
  save_checkpoint();
  comm_.keep_alive();
  if (best)
    write_checkpoint(config_.out_dir + "/best.h5",
                     make_checkpoint(model_, training_config_, *optimizer_, state_, history_, evaluation_));
  comm_.keep_alive();
  write_file_atomically(config_.out_dir + "/history.csv", history_csv(history_));
  write_file_atomically(config_.out_dir + "/learning_curve.svg", learning_curve_svg(history_));
  comm_.keep_alive();
}

void Job::save_checkpoint() const {
  if (!comm_.is_root()) return;
  write_checkpoint(config_.out_dir + "/checkpoint.h5",
                   make_checkpoint(model_, training_config_, *optimizer_, state_, history_, evaluation_));
}

// Rank 0's step time split into compute, allreduce and update, and every rank's peak memory.
void Job::print_profile(double seconds) {
  std::vector<double> rss(static_cast<std::size_t>(comm_.size()), 0.0);
  rss[static_cast<std::size_t>(comm_.rank())] = peak_rss_mb();
  comm_.allreduce_sum(rss.data(), rss.size(), WatchPoint{"in the profile after", state_.step, state_.epoch + 1});
  std::string peaks;
  for (double mb : rss) {
    if (!peaks.empty()) peaks += ' ';
    peaks += std::to_string(static_cast<int>(mb + 0.5));
  }
  char line[320];
  std::snprintf(line, sizeof line,
                "profile: %.3fs training - compute %.3fs - allreduce %.3fs (%.1f%%) - update %.3fs - %.0f images/s "
                "- peak RSS per rank (MB): %s",
                seconds, profile_.compute, profile_.allreduce, 100.0 * profile_.allreduce / seconds, profile_.update,
                static_cast<double>(inputs_.train.size()) / seconds, peaks.c_str());
  say(line);
  profile_.clear();
}

void Job::print_progress(std::int64_t epoch, std::int64_t step, std::int64_t steps) const {
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(kWidth * step / steps);
  std::printf("\rEpoch %lld/%d %3lld/%lld [%s%s] - loss: %.4f - accuracy: %.4f", static_cast<long long>(epoch + 1),
              config_.epochs, static_cast<long long>(step), static_cast<long long>(steps), std::string(filled, '=').c_str(),
              std::string(kWidth - filled, '.').c_str(), state_.epoch_loss_sum / static_cast<double>(state_.epoch_samples),
              static_cast<double>(state_.epoch_correct) / static_cast<double>(state_.epoch_samples));
  std::fflush(stdout);
}

}  // namespace

int run_training(const Config& config, const Comm& comm) {
  ModelSpec model;
  collectively(comm, WatchPoint{"in the start-up check of the model"}, [&] { model = load_model_spec(config); });
  if (config.print_model) {
    if (comm.is_root()) std::printf("%s\n", to_keras_json(model).c_str());
    return 0;
  }
  Job job(config, comm, model);
  return job.run();
}

}  // namespace fmnist
