// The step's allreduce buffer: gradients and tail encoded in fixed point per micro-batch, summed
// over the ranks, decoded into the mean gradient and the step's figures (step_reducer.hpp).
#include "step_reducer.hpp"

#include <algorithm>
#include <cmath>

#include "exact_sum.hpp"
#include "stop_signal.hpp"

namespace fmnist {
namespace {

static_assert(kNormMaxTerms >= static_cast<std::size_t>(kMaxMicroBatches),
              "the BatchNormalization statistics' fixed point must hold a step's micro-batches");

// Images a rank may hold for one step: every micro-batch of the global batch (one rank).
std::size_t micro_batch_slots(const Settings& s) {
  const std::size_t m = static_cast<std::size_t>(s.micro_batch);
  return (static_cast<std::size_t>(s.batch_size) + m - 1) / m * m;
}

}  // namespace

StepReducer::StepReducer(const Settings& settings, const Comm& comm, std::size_t num_params)
    : settings_(settings), comm_(comm), num_params_(num_params), x_(micro_batch_slots(settings) * kImagePixels),
      y_(micro_batch_slots(settings)), buffer_(num_params + kTailSize) {}

void StepReducer::encode(Model<float>& model, const Dataset& train, const std::vector<std::uint32_t>& perm,
                         std::size_t first, std::size_t lo, std::size_t hi, std::int64_t step,
                         const WatchPoint& statistics_at) {
  std::fill(buffer_.begin(), buffer_.end(), 0);
  const std::size_t m = static_cast<std::size_t>(settings_.micro_batch);
  std::vector<MicroBatch<float>> batches;
  for (std::size_t at = lo; at < hi; at += m) {
    const std::size_t n = std::min(hi - at, m), slot = batches.size() * m;
    load_batch(train, perm.data() + at, n, x_.data() + slot * kImagePixels, y_.data() + slot);
    batches.push_back({x_.data() + slot * kImagePixels, y_.data() + slot, static_cast<int>(n),
                       DropoutContext{settings_.seed, step, static_cast<std::int64_t>(at - first)}});
  }
  const Exchange exchange = [&](std::int64_t* sums, std::size_t n) { comm_.allreduce_sum(sums, n, statistics_at); };
  const GradientSink sink = [&](std::size_t begin, std::size_t end) {
    return add_fixed(model.grads() + begin, buffer_.data() + begin, end - begin);
  };
  const StepResult result = model.train_step(batches, exchange, sink);
  std::int64_t* tail = buffer_.data() + num_params_;
  for (std::size_t j = 0; j < batches.size(); ++j) {
    tail[kDiverged] += add_fixed(result.batches[j].loss_sum, &tail[kLossSum]) ? 0 : 1;
    tail[kCorrect] += result.batches[j].correct;
    tail[kSamples] += batches[j].n;
  }
  tail[kDiverged] += result.fine ? 0 : 1;
  tail[kStop] = stop_requested() ? 1 : 0;
}

void StepReducer::allreduce(const WatchPoint& at) { comm_.allreduce_sum(buffer_.data(), buffer_.size(), at); }

StepSums StepReducer::decode(float* mean) const {
  const std::int64_t* tail = buffer_.data() + num_params_;
  StepSums sums;
  sums.loss_sum = from_fixed(tail[kLossSum]);
  sums.correct = tail[kCorrect];
  sums.samples = tail[kSamples];
  sums.stop = tail[kStop] > 0;
  sums.diverged = tail[kDiverged] > 0 || !std::isfinite(sums.loss_sum);
  if (sums.diverged) return sums;
  const double scale = 1.0 / (kFixedScale * static_cast<double>(sums.samples));
  for (std::size_t i = 0; i < num_params_; ++i) mean[i] = static_cast<float>(static_cast<double>(buffer_[i]) * scale);
  return sums;
}

}  // namespace fmnist
