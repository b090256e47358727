// InputFile: zlib's gzopen/gzread, which read gzip and plain files alike, wrapped so that
// every error names the file. A truncated gzip stream is an error here, not a short read:
// zlib reports it only through gzerror (Z_BUF_ERROR, "unexpected end of file").
#include "input_file.hpp"

#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "fmnist/error.hpp"
#include "fmnist/regular_file.hpp"

namespace fmnist::detail {

InputFile::InputFile(std::string path) : path_(std::move(path)) {
  const RegularFile regular = open_regular_file(path_);  // a FIFO or device is refused, never waited on
  if (regular.fd < 0) fail("cannot open (" + regular.why + ")");
  struct stat st {};
  size_on_disk_ = ::fstat(regular.fd, &st) == 0 ? static_cast<std::uintmax_t>(st.st_size) : 0;
  file_ = gzdopen(regular.fd, "rb");
  if (file_ == nullptr) {
    ::close(regular.fd);
    fail(std::string("cannot open (") + std::strerror(errno) + ")");
  }
  gzbuffer(file_, 1u << 20);
}

InputFile::~InputFile() {
  if (file_ != nullptr) gzclose_r(file_);
}

std::size_t InputFile::read(void* buffer, std::size_t n) {
  auto* out = static_cast<unsigned char*>(buffer);
  std::size_t total = 0;
  while (total < n) {
    const auto chunk = static_cast<unsigned>(std::min<std::size_t>(n - total, 1u << 30));
    const int got = gzread(file_, out + total, chunk);
    if (got <= 0) break;
    total += static_cast<std::size_t>(got);
  }
  int code = Z_OK;
  const char* message = gzerror(file_, &code);
  if (code == Z_ERRNO) fail(std::string("read error (") + std::strerror(errno) + ")");
  if (code != Z_OK) {
    std::string detail = message;  // zlib writes "<path>: <what>"; keep only <what>
    if (detail.starts_with(path_ + ": ")) detail.erase(0, path_.size() + 2);
    fail("corrupt or truncated gzip data (zlib: " + detail + ")");
  }
  return total;
}

std::string InputFile::empty_reason() const {
  return size_on_disk_ == 0 ? "empty file" : "gzip stream holds no data (empty after decompression)";
}

void InputFile::fail(const std::string& what) const { data_error(path_, what); }

}  // namespace fmnist::detail
