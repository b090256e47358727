// One optimizer step's sums over every rank (docs/computing.md): this rank's micro-batches of the
// global batch, their gradients and figures encoded in 64-bit fixed point (exact_sum.hpp) into one
// buffer laid out [gradients | tail], one in-place allreduce of it, and the decode of the global sums.
// Integer sums are exact, so every rank decodes the same bytes whatever the number of ranks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "fmnist/comm.hpp"
#include "fmnist/data.hpp"
#include "fmnist/model.hpp"
#include "fmnist/settings.hpp"

namespace fmnist {

// A step's figures summed over the global batch.
struct StepSums {
  double loss_sum = 0;        // the loss summed over the batch's samples
  std::int64_t correct = 0;   // correct predictions
  std::int64_t samples = 0;   // the global batch's size
  bool stop = false;          // some rank was asked to stop (SIGTERM, SIGUSR1)
  bool diverged = false;      // a micro-batch's loss or gradient was not finite or beyond the fixed point's range
};

class StepReducer {
 public:
  StepReducer(const Settings& settings, const Comm& comm, std::size_t num_params);

  // This rank's micro-batches [lo, hi) of the global batch that starts at perm[first] (the step `step`,
  // from 0): each one's gradient, loss, correct count and samples, added into the buffer in fixed point.
  // Dropout masks follow each sample's position in the global batch; BatchNormalization statistics are
  // summed over the global batch through a watched allreduce (`statistics_at`).
  void encode(Model<float>& model, const Dataset& train, const std::vector<std::uint32_t>& perm, std::size_t first,
              std::size_t lo, std::size_t hi, std::int64_t step, const WatchPoint& statistics_at);
  // The one allreduce of the step: every rank then holds the global sums.
  void allreduce(const WatchPoint& at);
  // The global sums; unless the step diverged, the mean gradient over the global batch into mean (num_params).
  StepSums decode(float* mean) const;

 private:
  // The tail after the gradients: the loss sum (fixed point), correct predictions, samples, ranks
  // asking to stop, and micro-batches whose values diverged.
  enum Tail : std::size_t { kLossSum = 0, kCorrect, kSamples, kStop, kDiverged, kTailSize };

  const Settings& settings_;
  const Comm& comm_;
  std::size_t num_params_;
  std::vector<float> x_;              // (micro_batch_slots, 28, 28, 1): a rank's micro-batches of one step
  std::vector<std::uint8_t> y_;       // (micro_batch_slots)
  std::vector<std::int64_t> buffer_;  // (num_params + kTailSize): [gradients | tail] in fixed point
};

}  // namespace fmnist
