// The weights' initial values (docs/computing.md): each tensor of a plan from its Keras
// initializer, drawn in arena order from one generator seeded with --seed, so every rank and every
// scalar type starts from the same numbers.
#pragma once

#include <cstdint>

#include "fmnist/model_spec.hpp"

namespace fmnist {

// Fills params (plan.num_params) tensor by tensor, each by its initializer and arguments
// (docs/models.md: Initializers): glorot_uniform (limit sqrt(6 / (fan_in + fan_out))), he_uniform
// (sqrt(6 / fan_in)), lecun_uniform (sqrt(3 / fan_in)), glorot_normal, he_normal and lecun_normal
// (Keras's truncated normal, corrected for the cut), random_normal, random_uniform,
// truncated_normal, orthogonal, constant, zeros, ones; fans as Keras computes them for a kernel
// (kh, kw, in, out) or (in, out), n and n for a vector (n).
template <typename T>
void initialize(const ModelPlan& plan, std::uint64_t seed, T* params);

}  // namespace fmnist
