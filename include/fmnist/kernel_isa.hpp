// Which instruction set the neural-network kernels were compiled for (src/nn/simd.hpp): ranks built
// differently sum floats in another order, so their results are not the same bytes (docs/clusters.md:
// Nodes with different processors). Recorded in checkpoints (/training attribute `isa`) and compared at start-up.
#pragma once

#include <string>

namespace fmnist {

// "avx512 (64-byte vectors), fma", "avx2 (32-byte vectors), fma", "sse2 (16-byte vectors)", ...
std::string kernel_isa();

}  // namespace fmnist
