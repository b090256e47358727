// The counter-based hash behind every training-time random draw (Dropout's masks, the
// augmentation layers' parameters): splitmix64 over (seed, step, the sample's position in the
// global batch, layer, draw index). No generator state, so any number of ranks and a resumed run
// draw the same values for the same sample.
#pragma once

#include <cstddef>
#include <cstdint>

#include "fmnist/layers.hpp"

namespace fmnist::sample_hash {

// splitmix64's output function: a bijective mix of 64 bits.
inline std::uint64_t mix(std::uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// The key of one sample in one layer at one step.
inline std::uint64_t sample_key(const DropoutContext& at, std::int64_t sample, std::size_t layer) {
  return mix(mix(mix(mix(at.seed) ^ std::uint64_t(at.step)) ^ std::uint64_t(sample)) ^ std::uint64_t(layer));
}

// Draw `index` of a key: 53 random bits.
inline std::uint64_t bits53(std::uint64_t key, std::size_t index) {
  return mix(key + 0x9E3779B97F4A7C15ull * (index + 1)) >> 11;
}

// Draw `index` of a key as a uniform double in [0, 1).
inline double uniform(std::uint64_t key, std::size_t index) { return double(bits53(key, index)) * 0x1.0p-53; }

}  // namespace fmnist::sample_hash
