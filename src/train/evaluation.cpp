// Evaluation over a dataset in micro-batches. The loss sum is exact (fixed point, exact_sum.hpp),
// so the figures are the same whoever evaluates and however the set is shared out. The loss is
// Keras's evaluate loss: the mean loss plus the regularizers' penalty (keras/src/trainers/trainer.py
// compute_loss adds the model's losses in evaluation too).
#include "evaluation.hpp"

#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include "exact_sum.hpp"
#include "fmnist/regularization.hpp"
#include "share.hpp"

namespace fmnist {

std::optional<Figures> evaluate(Model<float>& model, const Dataset& d, const Config& config, const Comm& comm,
                                const WatchPoint& at) {
  const bool all = config.eval_ranks == EvalRanks::all;
  if (!all && !comm.is_root()) return std::nullopt;
  const std::size_t n = d.size(), micro = static_cast<std::size_t>(config.micro_batch);
  const auto [lo, hi] = all ? rank_share(0, n, micro, comm.rank(), comm.size()) : std::pair<std::size_t, std::size_t>(0, n);
  std::vector<float> x(micro * kImagePixels);  // (micro_batch, 28, 28, 1)
  std::vector<std::uint8_t> y(micro);          // (micro_batch)
  std::vector<std::uint32_t> indices(micro);   // (micro_batch)
  // The loss sum has one term per micro-batch of the whole set; a term too large for the exact sum
  // (a loss beyond about 2^31 / n per image) makes the mean loss infinite.
  const double limit = fixed_limit((n + micro - 1) / micro);
  std::int64_t sums[3] = {0, 0, 0};  // loss sum (fixed point), correct, terms beyond the limit
  for (std::size_t first = lo; first < hi; first += micro) {
    comm.keep_alive();  // the other ranks may be waiting for rank 0 alone
    const std::size_t m = std::min(hi - first, micro);
    std::iota(indices.begin(), indices.begin() + static_cast<std::ptrdiff_t>(m), static_cast<std::uint32_t>(first));
    load_batch(d, indices.data(), m, x.data(), y.data());
    const BatchStats s = model.evaluate(x.data(), y.data(), static_cast<int>(m));
    sums[2] += add_fixed(s.loss_sum, &sums[0], limit) ? 0 : 1;
    sums[1] += s.correct;
  }
  if (all) comm.allreduce_sum(sums, 3, at);
  const double loss = sums[2] > 0 ? std::numeric_limits<double>::infinity()
                                  : from_fixed(sums[0]) / static_cast<double>(n) +
                                        regularization_penalty(model.plan(), model.params());
  return Figures{loss, static_cast<double>(sums[1]) / static_cast<double>(n)};
}

}  // namespace fmnist
