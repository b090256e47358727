// The tutorial's train/validation split and the per-epoch shuffle (data/README.md: The split; docs/computing.md).
// legacy_permutation is numpy's RandomState(seed).permutation(n) bit for bit: mt19937 seeded
// like numpy's legacy integer seeding, and Fisher-Yates with masked rejection sampling.
#include <cmath>
#include <numeric>
#include <random>

#include "fmnist/data.hpp"
#include "fmnist/error.hpp"

namespace fmnist {
namespace {

// numpy's random_interval(max) for max < 2^32: a uniform value in [0, max].
std::uint32_t random_interval(std::mt19937& engine, std::uint32_t max) {
  if (max == 0) return 0;
  std::uint32_t mask = max;
  mask |= mask >> 1;
  mask |= mask >> 2;
  mask |= mask >> 4;
  mask |= mask >> 8;
  mask |= mask >> 16;
  std::uint32_t value;
  do {
    value = static_cast<std::uint32_t>(engine()) & mask;
  } while (value > max);
  return value;
}

// numpy's legacy shuffle of arange(n): for i = n-1 down to 1, swap p[i] with p[random_interval(i)].
std::vector<std::uint32_t> shuffled_range(std::uint32_t n, std::mt19937& engine) {
  std::vector<std::uint32_t> p(n);
  std::iota(p.begin(), p.end(), 0u);
  for (std::uint32_t i = n > 0 ? n - 1 : 0; i > 0; --i) std::swap(p[i], p[random_interval(engine, i)]);
  return p;
}

std::uint32_t low32(std::uint64_t v) { return static_cast<std::uint32_t>(v); }
std::uint32_t high32(std::uint64_t v) { return static_cast<std::uint32_t>(v >> 32); }

}  // namespace

std::vector<std::uint32_t> legacy_permutation(std::uint32_t n, std::uint32_t seed) {
  std::mt19937 engine(seed);  // == numpy's init_genrand(seed) for an integer seed
  return shuffled_range(n, engine);
}

Split train_test_split(std::uint32_t n, double test_size, std::uint32_t seed) {
  if (!(test_size > 0.0 && test_size < 1.0)) {
    throw Error(Exit::usage, "validation split " + std::to_string(test_size) + " must lie strictly between 0 and 1");
  }
  const double n_test_real = std::ceil(test_size * static_cast<double>(n));  // float64, as sklearn does
  const auto n_test = static_cast<std::uint32_t>(n_test_real);
  if (n_test >= n) {
    throw Error(Exit::data, "cannot split " + std::to_string(n) + " samples with validation split " +
                                std::to_string(test_size) + ": the training part would be empty");
  }
  const std::vector<std::uint32_t> p = legacy_permutation(n, seed);
  Split split;
  split.validation.assign(p.begin(), p.begin() + n_test);
  split.train.assign(p.begin() + n_test, p.end());
  return split;
}

std::vector<std::uint32_t> epoch_permutation(std::uint32_t n, std::uint64_t seed, std::uint64_t epoch) {
  std::seed_seq sequence{low32(seed), high32(seed), low32(epoch), high32(epoch)};
  std::mt19937 engine(sequence);
  return shuffled_range(n, engine);
}

}  // namespace fmnist
