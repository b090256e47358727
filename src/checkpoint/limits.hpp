// Private to the checkpoint module: the bounds a checkpoint's declared sizes and counters must
// keep before the reader allocates or indexes anything with them (read.cpp), so that no file --
// damaged, hand-edited or hostile -- can crash a rank or exhaust its memory (docs/models.md:
// What a checkpoint may declare).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fmnist/checkpoint.hpp"
#include "hdf5.hpp"

namespace fmnist::limits {

inline constexpr std::size_t kMaxConfigBytes = std::size_t{16} << 20;  // model_config, training_config
inline constexpr std::size_t kMaxTextBytes = std::size_t{64} << 10;    // every other string attribute
inline constexpr std::size_t kMaxNames = 4096;                        // layer_names, weight_names
inline constexpr std::size_t kMaxNamesBytes = std::size_t{1} << 20;   // all names of one attribute
inline constexpr std::size_t kMaxSlots = 8;                           // /optimizer's slots (Adam has 2)
inline constexpr std::size_t kMaxShownText = 160;                     // a value quoted in a message

// `text` cut to kMaxShownText characters, with how long it was ("... (20,000,000 bytes)").
std::string shortened(const std::string& text);

inline constexpr std::uint64_t kMaxChunks = 65536;                    // chunks of one dataset

// What is wrong with a dataset's storage, or nothing: its declared values must all be stored (no
// chunks left unwritten, no compression: checkpoints are written uncompressed) and its chunk index
// must not list more bytes than the file has. So reading it needs at most the file's size.
std::optional<std::string> storage_problem(const h5::DatasetInfo& info, std::uint64_t file_size);

// What is wrong with a dataset's chunk index, or nothing: every chunk its shape implies must be
// listed (else HDF5 reads fill values, silently), within the file, of its full size plus the
// Fletcher32 checksum, with no filter skipped (else its checksum is not verified).
std::optional<std::string> chunk_problem(const h5::DatasetInfo& info, const h5::ChunkLayout& layout,
                                         std::uint64_t file_size);

// The problems of /training's counters, each "/training: attribute <name>: <what>": every one
// non-negative, step_in_epoch inside an epoch, step = epoch x steps per epoch + step_in_epoch, the
// epoch's sums within its samples, the callbacks' epochs within the epochs done.
std::vector<std::string> counter_problems(const TrainingState& t);

// Optimizer steps per epoch of the recorded run: ceil(num_train / batch_size) (both checked >= 1).
std::int64_t steps_per_epoch(const TrainingState& t);

}  // namespace fmnist::limits
