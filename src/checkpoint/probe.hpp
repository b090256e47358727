// Private to the checkpoint module: low-level access to a checkpoint file for tests and
// diagnostics -- where a dataset's bytes lie in the file (to damage them on purpose), and
// replacing or removing a dataset (to build incompatible files). No HDF5 types leak out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace fmnist::probe {

struct StorageExtent {
  std::uint64_t offset = 0;  // byte offset of the dataset's (first) chunk in the file
  std::uint64_t size = 0;    // stored bytes, including the 4-byte Fletcher32 checksum
};

// All functions throw Error(Exit::checkpoint) naming the file and dataset on failure.
StorageExtent dataset_storage(const std::string& file, const std::string& dataset);
// Deletes `dataset` (if present) and writes a float32 dataset of `shape` in its place,
// with or without the Fletcher32 checksum.
void replace_dataset(const std::string& file, const std::string& dataset, const std::vector<std::size_t>& shape,
                     const std::vector<float>& values, bool fletcher32 = true);
void remove_object(const std::string& file, const std::string& path);
// Attributes of the object at `object` ("/" for the root): removing one, replacing a string one.
void remove_attribute(const std::string& file, const std::string& object, const std::string& name);
void replace_string_attribute(const std::string& file, const std::string& object, const std::string& name,
                              const std::string& value);
// A scalar attribute replaced by an int64 or a float64 one, whatever it was: counters out of range,
// or of the wrong type.
void replace_attribute(const std::string& file, const std::string& object, const std::string& name, std::int64_t value);
void replace_attribute(const std::string& file, const std::string& object, const std::string& name, double value);
// `dataset` replaced by a float64 dataset of `shape` (chunks of `chunk`, Fletcher32) whose chunks are
// never written: declared, not stored.
void declare_dataset(const std::string& file, const std::string& dataset, const std::vector<std::uint64_t>& shape,
                     const std::vector<std::uint64_t>& chunk);

}  // namespace fmnist::probe
