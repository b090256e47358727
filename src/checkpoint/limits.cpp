// The checkpoint's bounds (limits.hpp): sizes against the file's own size, counters against each
// other. Products are computed with overflow checks, since every operand may be hostile.
#include "limits.hpp"

#include <cmath>

#include "fmnist/text.hpp"

namespace fmnist::limits {
namespace {

struct Problems {
  std::vector<std::string> list;
  void add(const char* name, const std::string& what) {
    list.push_back(std::string("/training: attribute ") + name + ": " + what);
  }
  // value must lie in [low, high]; `why` explains high.
  void range(const char* name, std::int64_t value, std::int64_t low, std::int64_t high, const std::string& why) {
    if (value < low || value > high)
      add(name, std::to_string(value) + " is out of range (" + std::to_string(low) + " to " + std::to_string(high) +
                    (why.empty() ? "" : ": " + why) + ")");
  }
  void finite_non_negative(const char* name, double value) {
    if (!(std::isfinite(value) && value >= 0)) add(name, number_text(value) + " is not a finite number >= 0");
  }
};

constexpr std::int64_t kMaxCount = std::int64_t{1} << 62;

}  // namespace

std::string shortened(const std::string& text) {
  if (text.size() <= kMaxShownText) return text;
  return text.substr(0, kMaxShownText) + "... (" + with_commas(text.size()) + " bytes)";
}

std::optional<std::string> storage_problem(const h5::DatasetInfo& info, std::uint64_t file_size) {
  std::uint64_t count = 1, bytes = 0;
  for (hsize_t d : info.dims) {
    if (__builtin_mul_overflow(count, d, &count)) return "declares more values than any file can hold";
  }
  if (__builtin_mul_overflow(count, info.type_size, &bytes)) return "declares more bytes than any file can hold";
  if (info.stored_bytes > file_size)
    return "its chunk index lists " + with_commas(info.stored_bytes) + " stored bytes, more than the file's " +
           with_commas(file_size) + " (a damaged chunk index)";
  if (info.stored_bytes < bytes)
    return "declares " + with_commas(count) + " values (" + with_commas(bytes) + " bytes) but stores " +
           with_commas(info.stored_bytes) + " bytes (chunks never written, or compressed; checkpoints are written "
           "whole and uncompressed)";
  return std::nullopt;
}

std::optional<std::string> chunk_problem(const h5::DatasetInfo& info, const h5::ChunkLayout& layout,
                                         std::uint64_t file_size) {
  if (!layout.chunked) return std::nullopt;
  if (layout.count > kMaxChunks)
    return "stored in more than " + with_commas(kMaxChunks) + " chunks (chunk shape " + shape_text(layout.chunk_dims) + ")";
  std::uint64_t chunk_bytes = info.type_size;
  for (hsize_t d : layout.chunk_dims) chunk_bytes *= d;  // (bounded: the dims were checked first)
  const std::uint64_t expected = chunk_bytes + (info.fletcher32 ? 4 : 0);
  for (const h5::ChunkEntry& e : layout.entries) {
    const std::string which = "the chunk at " + shape_text(e.offset);
    if (!e.listed) return which + " is missing from the chunk index (never written, or the index is damaged)";
    if (e.filter_mask != 0) return which + " skips filters (mask " + std::to_string(e.filter_mask) + "): its checksum would not be verified";
    if (e.size != expected)
      return which + " stores " + with_commas(e.size) + " bytes, expected " + with_commas(expected) +
             " (a damaged chunk index, or compressed)";
    if (e.address > file_size || e.size > file_size - e.address)
      return which + " lies past the end of the file (a damaged chunk index)";
  }
  return std::nullopt;
}

std::int64_t steps_per_epoch(const TrainingState& t) {
  return t.num_train / t.batch_size + (t.num_train % t.batch_size != 0 ? 1 : 0);
}

std::vector<std::string> counter_problems(const TrainingState& t) {
  Problems p;
  p.range("batch_size", t.batch_size, 1, kMaxCount, "");
  p.range("epochs", t.epochs, 1, kMaxCount, "");
  p.range("num_train", t.num_train, 1, kMaxCount, "");
  p.range("world_size", t.world_size, 1, kMaxCount, "");
  if (!p.list.empty()) return p.list;  // the checks below divide and multiply by these
  const std::int64_t per_epoch = steps_per_epoch(t);
  const std::string epoch_text = "the steps of an epoch: " + std::to_string(t.num_train) + " training samples in batches of " +
                                 std::to_string(t.batch_size);
  p.range("epoch", t.epoch, 0, kMaxCount / per_epoch, "");
  p.range("step_in_epoch", t.step_in_epoch, 0, per_epoch - 1, epoch_text);
  if (!p.list.empty()) return p.list;
  const std::int64_t step = t.epoch * per_epoch + t.step_in_epoch;
  if (t.step != step)
    p.add("step", std::to_string(t.step) + " does not follow from epoch " + std::to_string(t.epoch) + " and step_in_epoch " +
                      std::to_string(t.step_in_epoch) + " at " + std::to_string(per_epoch) + " steps per epoch (expected " +
                      std::to_string(step) + ")");
  p.range("epoch_samples", t.epoch_samples, 0, t.step_in_epoch * t.batch_size, "step_in_epoch batches");
  p.range("epoch_correct", t.epoch_correct, 0, std::max<std::int64_t>(t.epoch_samples, 0), "epoch_samples");
  p.finite_non_negative("epoch_loss_sum", t.epoch_loss_sum);
  p.finite_non_negative("epoch_seconds", t.epoch_seconds);
  const std::string done = "the epochs completed";
  p.range("early_stopping_best_epoch", t.early_stopping_best_epoch, 0, t.epoch, done);
  p.range("early_stopping_stopped_epoch", t.early_stopping_stopped_epoch, 0, t.epoch, done);
  p.range("early_stopping_wait", t.early_stopping_wait, 0, t.epoch, done);
  p.range("plateau_wait", t.plateau_wait, 0, t.epoch, done);
  p.range("plateau_cooldown", t.plateau_cooldown, 0, kMaxCount, "");
  if (!(std::isnan(t.base_lr) || (std::isfinite(t.base_lr) && t.base_lr > 0)))
    p.add("base_lr", number_text(t.base_lr) + " is not a positive number");
  return p.list;
}

}  // namespace fmnist::limits
