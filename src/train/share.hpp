// Which samples of a global batch (or of an evaluated set) a rank takes.
#pragma once

#include <algorithm>
#include <cstddef>
#include <utility>

namespace fmnist {

// Samples [first, first + len) are cut into micro-batches at fixed positions, and rank `rank` of
// `ranks` takes a contiguous run of them: the cut, and so every float sum, is the same for any N.
inline std::pair<std::size_t, std::size_t> rank_share(std::size_t first, std::size_t len, std::size_t micro_batch,
                                                      int rank, int ranks) {
  const std::size_t m = micro_batch, count = (len + m - 1) / m;
  const auto r = static_cast<std::size_t>(rank), n = static_cast<std::size_t>(ranks);
  return {first + std::min(len, m * (count * r / n)), first + std::min(len, m * (count * (r + 1) / n))};
}

}  // namespace fmnist
