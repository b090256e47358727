// Where a training step keeps its values and gradients (docs/computing.md: Functional models):
// one block of memory per lane, in which every buffer lives from the step of the timeline that
// writes it to the last that reads it, and buffers whose lifetimes do not overlap share memory.
// The timeline: forward op k at step k, the loss at step K (K ops), backward op k at step 2K - k.
// Private to src/nn (model.cpp).
#pragma once

#include <cstddef>
#include <limits>
#include <vector>

namespace fmnist {

// What the plan needs to know of an op. Values: 0 is the model's input (the caller's, not
// planned), each op writes one more.
struct OpUse {
  std::vector<std::size_t> in;  // values read, in the call's order (one may come twice)
  std::size_t out = 0;          // value written
  bool reads_input = true;      // backward reads the values in (so they live until it ran)
  bool reads_output = true;     // backward reads the value out
};

inline constexpr std::size_t kNoBuffer = std::numeric_limits<std::size_t>::max();

struct BufferPlan {
  std::vector<std::size_t> value;  // (values): offset of each value ([0]: kNoBuffer, the caller's)
  std::vector<std::size_t> grad;   // (values): offset of each value's gradient ([0]: kNoBuffer, never asked)
  // (ops, inputs): where backward writes an input's gradient before adding it to the value's,
  // because another op (or slot) wrote that gradient first; kNoBuffer: straight into it.
  std::vector<std::vector<std::size_t>> scratch;
  std::size_t size = 0;      // elements of a lane's block
  std::size_t unshared = 0;  // elements all the buffers would take side by side
};

// Plans the buffers of `ops` (in their order, a topological one) for values of value_sizes[v]
// elements (a lane's: max_batch images); the loss reads value `logits` and writes its gradient.
// Each offset is a multiple of `align` elements. The same inputs give the same plan.
BufferPlan plan_buffers(const std::vector<OpUse>& ops, const std::vector<std::size_t>& value_sizes, std::size_t logits,
                        std::size_t align);

}  // namespace fmnist
