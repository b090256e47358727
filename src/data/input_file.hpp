// A data file opened through zlib: gzip-compressed or plain, told apart by its magic bytes.
// Every failure (missing, not a regular file, unreadable, corrupt or truncated gzip) becomes
// Error(Exit::data, "<path>: ..."), so the IDX and CSV readers stay short.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

struct gzFile_s;

namespace fmnist::detail {

class InputFile {
 public:
  explicit InputFile(std::string path);  // throws "<path>: cannot open (...)"
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  // Reads up to n decompressed bytes; returns fewer only at the end of the data.
  std::size_t read(void* buffer, std::size_t n);

  const std::string& path() const { return path_; }
  std::uintmax_t size_on_disk() const { return size_on_disk_; }

  // The message for an empty input: "empty file" or "gzip stream holds no data".
  std::string empty_reason() const;

  [[noreturn]] void fail(const std::string& what) const;

 private:
  std::string path_;
  gzFile_s* file_ = nullptr;
  std::uintmax_t size_on_disk_ = 0;
};

}  // namespace fmnist::detail
