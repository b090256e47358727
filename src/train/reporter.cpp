// Rank 0's lines, in Keras's words where Keras has them ("Epoch 3/15 - ... - val_accuracy: 0.87",
// the progress bar), so users of the tutorial read them at a glance.
#include "reporter.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "callbacks.hpp"
#include "fmnist/text.hpp"

namespace fmnist {
namespace {

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

}  // namespace

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

Reporter::Reporter(const Config& config, const Comm& comm)
    : config_(config),
      comm_(comm),
      bar_(comm.is_root() && (config.progress == Progress::always ||
                              (config.progress == Progress::automatic && comm.stdout_is_terminal()))) {}

void Reporter::say(const std::string& line) const {
  if (!comm_.is_root()) return;
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

void Reporter::start(std::size_t train, std::size_t validation, const std::string& source,
                     std::int64_t steps_per_epoch) const {
  const int micro_batches = (config_.batch_size + config_.micro_batch - 1) / config_.micro_batch;
  if (comm_.size() > micro_batches)
    say("Note: --batch-size " + std::to_string(config_.batch_size) + " makes " + std::to_string(micro_batches) +
        " micro-batch(es) of up to " + std::to_string(config_.micro_batch) + " images per step for " +
        std::to_string(comm_.size()) + " ranks, so some ranks idle; consider --micro-batch " +
        std::to_string(std::max(1, config_.batch_size / comm_.size())) + ".");
  say("Train on " + std::to_string(train) + " samples, validate on " + std::to_string(validation) + " samples (" +
      source + "); " + std::to_string(comm_.size()) + " rank(s), global batch " + std::to_string(config_.batch_size) +
      ", " + std::to_string(steps_per_epoch) + " steps per epoch");
}

void Reporter::resumed(const TrainingState& state) const {
  say("Resumed at epoch " + std::to_string(state.epoch + 1) + ", step " + std::to_string(state.step_in_epoch) +
      " of the epoch (" + std::to_string(state.step) + " steps in total).");
}

void Reporter::progress(std::int64_t epoch, std::int64_t step, std::int64_t steps, const TrainingState& state) const {
  if (!bar_) return;
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(kWidth * step / steps);
  std::printf("\rEpoch %lld/%d %3lld/%lld [%s%s] - loss: %.4f - accuracy: %.4f", static_cast<long long>(epoch + 1),
              config_.epochs, static_cast<long long>(step), static_cast<long long>(steps),
              std::string(filled, '=').c_str(), std::string(kWidth - filled, '.').c_str(),
              state.epoch_loss_sum / static_cast<double>(state.epoch_samples),
              static_cast<double>(state.epoch_correct) / static_cast<double>(state.epoch_samples));
  std::fflush(stdout);
}

void Reporter::end_progress() const {
  if (bar_) std::printf("\r\033[K");
}

void Reporter::epoch(std::int64_t epoch, std::int64_t steps, const EpochRow& row) const {
  char line[256];
  std::snprintf(line, sizeof line,
                "Epoch %lld/%d - %lld steps - %.1fs - loss: %.4f - accuracy: %.4f - val_loss: %.4f - val_accuracy: %.4f",
                static_cast<long long>(epoch + 1), config_.epochs, static_cast<long long>(steps), row.seconds, row.loss,
                row.accuracy, row.val_loss, row.val_accuracy);
  say(rate_changes(config_) ? line + (" - lr: " + float32_text(row.lr)) : std::string(line));
}

void Reporter::print_profile(double seconds, std::size_t images, const WatchPoint& at) {
  std::vector<double> rss(static_cast<std::size_t>(comm_.size()), 0.0);
  rss[static_cast<std::size_t>(comm_.rank())] = peak_rss_mb();
  comm_.allreduce_sum(rss.data(), rss.size(), at);
  std::string peaks;
  for (double mb : rss) {
    if (!peaks.empty()) peaks += ' ';
    peaks += std::to_string(static_cast<int>(mb + 0.5));
  }
  char line[320];
  std::snprintf(line, sizeof line,
                "profile: %.3fs training - compute %.3fs - allreduce %.3fs (%.1f%%) - update %.3fs - %.0f images/s "
                "- peak RSS per rank (MB): %s",
                seconds, timers.compute, timers.allreduce, 100.0 * timers.allreduce / seconds, timers.update,
                static_cast<double>(images) / seconds, peaks.c_str());
  say(line);
  timers = Profile();
}

void Reporter::stopped(std::int64_t step) const {
  say("Stopped by a signal after step " + std::to_string(step) + "; checkpoint written to " + config_.out_dir +
      "/checkpoint.h5. Continue with --resume auto.");
}

void Reporter::reached_max_steps() const {
  say("Reached --max-steps " + std::to_string(config_.max_steps) + "; checkpoint written to " + config_.out_dir +
      "/checkpoint.h5.");
}

void Reporter::test(double loss, double accuracy) const {
  char line[128];
  std::snprintf(line, sizeof line, "test_loss: %.4f - test_accuracy: %.4f", loss, accuracy);
  say(line);
}

}  // namespace fmnist
