// Opening a file that must be a regular file (data, --model, --resume, pictures) without ever
// blocking: a FIFO or a device given by mistake is refused with a message instead of making
// open() or read() wait forever (the open uses O_NONBLOCK and fstat decides).
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "fmnist/error.hpp"

namespace fmnist {

// An open, read-only, close-on-exec descriptor of a regular file (blocking mode restored), or why
// there is none: "no such file", "it is a folder, not a file", "it is a FIFO (named pipe), not a
// regular file", "it is a character device, not a regular file", or strerror's text.
struct RegularFile {
  int fd = -1;
  std::string why;
};
RegularFile open_regular_file(const std::string& path);

// Why `path` cannot be read as a regular file (the reasons above, found with stat alone), or
// nothing when it is one: for readers that open the path themselves (HDF5).
std::optional<std::string> not_a_regular_file(const std::string& path);

// The whole file; throws Error(code, "<label>: cannot open (<why>)") when it is not a regular file,
// "<label>: read error (<why>)" or "<label>: larger than the limit of N bytes" (label: the path,
// unless given).
std::string read_regular_file(const std::string& path, Exit code, std::size_t max_bytes, std::string label = "");

}  // namespace fmnist
