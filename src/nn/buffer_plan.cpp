// The lifetimes of a step's buffers and their places in a lane's block (buffer_plan.hpp): a
// value lives from its op's forward to the last forward that reads it, and on to the backward of
// each op that reads it there; a gradient from the backward of the last op that takes the value
// (the loss, for the logits) to the backward of the op that wrote the value. Then greedy by size,
// as TensorFlow Lite's arena planner: the largest buffer first, each at the lowest offset where
// it meets no placed buffer alive at the same time.
#include "buffer_plan.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace fmnist {
namespace {

struct Use {
  std::size_t size = 0, first = 0, last = 0;  // elements; lifetime [first, last] on the timeline
  std::size_t* offset = nullptr;               // where the plan records its place
};

bool overlap(const Use& a, const Use& b) { return a.first <= b.last && b.first <= a.last; }

// Places every use; returns the block's size.
std::size_t pack(std::vector<Use>& uses) {
  std::vector<std::size_t> order(uses.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return uses[a].size != uses[b].size ? uses[a].size > uses[b].size : uses[a].first < uses[b].first;
  });
  std::vector<std::size_t> placed;
  std::size_t size = 0;
  for (std::size_t u : order) {
    std::vector<std::pair<std::size_t, std::size_t>> taken;  // [begin, end) of the placed uses alive with u
    for (std::size_t p : placed) {
      if (overlap(uses[p], uses[u])) taken.emplace_back(*uses[p].offset, *uses[p].offset + uses[p].size);
    }
    std::sort(taken.begin(), taken.end());
    std::size_t at = 0;
    for (const auto& [begin, end] : taken) {
      if (at + uses[u].size <= begin) break;
      at = std::max(at, end);
    }
    *uses[u].offset = at;
    size = std::max(size, at + uses[u].size);
    placed.push_back(u);
  }
  return size;
}

}  // namespace

BufferPlan plan_buffers(const std::vector<OpUse>& ops, const std::vector<std::size_t>& value_sizes, std::size_t logits,
                        std::size_t align) {
  const std::size_t count = ops.size(), values = value_sizes.size();
  if (logits >= values) throw std::logic_error("plan_buffers: the logits are not a value");
  auto backward = [&](std::size_t k) { return 2 * count - k; };  // the step of op k's backward
  struct Value {
    std::size_t producer = kNoBuffer;       // the op that writes it
    std::size_t last_read = 0;              // the last step that reads it
    std::size_t last_consumer = kNoBuffer;  // the last op that takes it
  };
  std::vector<Value> info(values);
  for (std::size_t k = 0; k < count; ++k) {
    const std::size_t out = ops[k].out;
    if (out == 0 || out >= values || info[out].producer != kNoBuffer)
      throw std::logic_error("plan_buffers: an op writes the input, an unknown value or a value written before");
    info[out].producer = k;
    info[out].last_read = ops[k].reads_output ? backward(k) : k;
    for (std::size_t v : ops[k].in) {
      if (v >= values || (v != 0 && info[v].producer == kNoBuffer))
        throw std::logic_error("plan_buffers: an op reads a value not yet written");
      info[v].last_read = std::max(info[v].last_read, ops[k].reads_input ? backward(k) : k);
      info[v].last_consumer = k;  // ops come in order: the last one wins
    }
  }
  info[logits].last_read = std::max(info[logits].last_read, count);
  BufferPlan plan;
  plan.value.assign(values, kNoBuffer);
  plan.grad.assign(values, kNoBuffer);
  plan.scratch.resize(count);
  std::vector<Use> uses;
  auto rounded = [&](std::size_t v) { return (value_sizes[v] + align - 1) / align * align; };
  for (std::size_t v = 1; v < values; ++v) {
    const Value& i = info[v];
    if (i.producer == kNoBuffer) continue;
    uses.push_back({rounded(v), i.producer, i.last_read, &plan.value[v]});
    const bool asked = v == logits || i.last_consumer != kNoBuffer;  // someone sends a gradient back
    if (asked) uses.push_back({rounded(v), v == logits ? count : backward(i.last_consumer), backward(i.producer), &plan.grad[v]});
  }
  for (std::size_t k = 0; k < count; ++k) {
    const std::vector<std::size_t>& in = ops[k].in;
    plan.scratch[k].assign(in.size(), kNoBuffer);
    for (std::size_t j = 0; j < in.size(); ++j) {
      const bool started = info[in[j]].last_consumer > k || std::find(in.begin(), in.begin() + j, in[j]) != in.begin() + j;
      if (in[j] != 0 && started) uses.push_back({rounded(in[j]), backward(k), backward(k), &plan.scratch[k][j]});
    }
  }
  for (const Use& u : uses) plan.unshared += u.size;
  plan.size = pack(uses);
  return plan;
}

}  // namespace fmnist
