// Private to the checkpoint module (the only code that sees HDF5): RAII owners for hid_t
// handles, FMNIST_H5(call) -- the one place that checks HDF5 return codes -- and the few
// typed attribute/dataset helpers the checkpoint layout needs. HDF5's own error printing is
// silenced; a failed call throws h5::Failure naming the call, the source line and HDF5's cause.
#pragma once

#include <hdf5.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace fmnist::h5 {

// A failed HDF5 call: what() is "H5Dread failed (src/checkpoint/read.cpp:42): <cause>".
class Failure : public std::runtime_error {
 public:
  Failure(const std::string& message, std::string cause)
      : std::runtime_error(message), cause_(std::move(cause)) {}
  // HDF5's innermost error description, or strerror text when HDF5 reports an errno.
  const std::string& cause() const { return cause_; }

 private:
  std::string cause_;
};

[[noreturn]] void fail(const char* call, const char* file, int line);

template <typename T>
T check(T result, const char* call, const char* file, int line) {
  if (result < 0) fail(call, file, line);
  return result;
}

#define FMNIST_H5(call) ::fmnist::h5::check((call), #call, __FILE__, __LINE__)

// Turns off HDF5's printing of its error stack (we report failures ourselves); idempotent.
void silence_errors();

// Owns one hid_t and closes it with Close; close() closes now and checks the result.
template <herr_t (*Close)(hid_t)>
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  ~Handle() {
    if (id_ >= 0) Close(id_);
  }
  Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, -1)) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      if (id_ >= 0) Close(id_);
      id_ = std::exchange(other.id_, -1);
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  hid_t get() const { return id_; }
  void close() { FMNIST_H5(Close(std::exchange(id_, -1))); }

 private:
  hid_t id_ = -1;
};

using File = Handle<H5Fclose>;
using Group = Handle<H5Gclose>;
using Dataset = Handle<H5Dclose>;
using Dataspace = Handle<H5Sclose>;
using Datatype = Handle<H5Tclose>;
using Attribute = Handle<H5Aclose>;
using PropertyList = Handle<H5Pclose>;

// A new checkpoint is built in memory (the core driver) and written out by the caller with
// plain POSIX calls, so a full disk never leaves HDF5 holding a half-written file. The HDF5 1.8
// format gives object headers checksums (attributes are protected too) and every HDF5 since
// 1.8 (h5py, Keras) reads it. No times are recorded, so equal inputs give equal bytes.
class MemoryFile {
 public:
  explicit MemoryFile(const std::string& name);
  hid_t get() const { return file_.get(); }
  // Flushes and closes the file; returns the complete file image.
  std::vector<char> finish();

 private:
  struct Image {
    std::vector<char> bytes;     // copied when HDF5 releases its buffer at close
    std::size_t allocated = 0;   // size of that buffer (a multiple of the driver's increment)
  };
  std::unique_ptr<Image> image_;  // stable address for the driver callbacks; outlives file_
  File file_;
};

File open_file(const std::string& path);
// File access properties shared by all files: silenced error printing, strong close.
PropertyList file_access();
// H5Fis_hdf5: true if the file starts with an HDF5 signature.
bool is_hdf5(const std::string& path);
Group create_group(hid_t parent, const std::string& name);
Group open_group(hid_t parent, const std::string& name);
// True if every link along the '/'-separated path exists (no error for a missing parent).
bool exists(hid_t location, const std::string& path);

// Scalar attributes. The file type is little-endian of the same width as T.
template <typename T>
void write_attribute(hid_t object, const std::string& name, T value);
void write_attribute(hid_t object, const std::string& name, const std::string& value);
// A 1-D array of fixed-length, null-padded ASCII strings (h5py's layout for a list of bytes).
void write_attribute(hid_t object, const std::string& name, const std::vector<std::string>& values);

// A scalar attribute of T's class (integer or floating point; any width, converted by HDF5).
template <typename T>
T read_attribute(hid_t object, const std::string& name);
// String attributes, fixed- or variable-length. The declared sizes are checked before anything is
// allocated: at most max_count strings and max_bytes in all (a fixed-length type's size times the
// count; each variable-length string after reading), else Failure "... more than the limit of ...".
std::string read_string_attribute(hid_t object, const std::string& name, std::size_t max_bytes);
std::vector<std::string> read_strings_attribute(hid_t object, const std::string& name, std::size_t max_count,
                                                std::size_t max_bytes);

// A chunked dataset (one chunk holding everything) with the Fletcher32 checksum filter
// (tests turn it off to build unprotected files). Zero-length datasets get an unlimited
// maximum size and a chunk of one element, since chunks cannot be empty.
template <typename T>
void write_dataset(hid_t location, const std::string& name, const std::vector<hsize_t>& dims,
                   const T* data, bool fletcher32 = true);

struct DatasetInfo {
  std::vector<hsize_t> dims;
  H5T_class_t type_class = H5T_NO_CLASS;
  std::size_t type_size = 0;     // bytes per element in the file
  bool fletcher32 = false;
  std::uint64_t stored_bytes = 0;  // the chunks' bytes as the chunk index lists them (H5Dget_storage_size)
};
DatasetInfo dataset_info(hid_t dataset);

// The chunks a chunked dataset's shape implies, each looked up in its chunk index by its offset as
// H5Dread looks it up: a chunk the index does not list (never written, or a damaged index) reads as
// fill values without any error, and a chunk whose filter mask skips a filter is read without its
// checksum.
struct ChunkEntry {
  std::vector<hsize_t> offset;  // of its first element
  bool listed = false;          // found in the index (then address, size, filter_mask hold)
  std::uint64_t address = 0, size = 0;
  unsigned filter_mask = 0;
};
struct ChunkLayout {
  bool chunked = false;
  std::vector<hsize_t> chunk_dims;
  std::uint64_t count = 0;          // chunks the shape implies
  std::vector<ChunkEntry> entries;  // one per chunk, filled only when count <= max_chunks
};
ChunkLayout chunk_layout(hid_t dataset, const std::vector<hsize_t>& dims, std::uint64_t max_chunks);
// Reads the whole dataset converted to T; fails (HDF5's checksum error) if a chunk is corrupt.
template <typename T>
std::vector<T> read_dataset(hid_t dataset, std::size_t count);

}  // namespace fmnist::h5
