// write_text_file: replaces a small output file (history.csv, learning_curve.svg) atomically
// -- a temporary file beside it, written, fsynced and renamed -- so a reader never sees half a
// file; failures remove the temporary and throw Error(Exit::checkpoint) naming the path.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "fmnist/error.hpp"
#include "fmnist/report.hpp"

namespace fmnist {
namespace {

// Returns 0 or the errno of the first failing step.
int write_all(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno;
  int error = 0;
  for (std::size_t done = 0; done < text.size() && error == 0;) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n >= 0) {
      done += static_cast<std::size_t>(n);
    } else if (errno != EINTR) {
      error = errno;
    }
  }
  if (error == 0 && ::fsync(fd) != 0 && errno != EINVAL) error = errno;
  if (::close(fd) != 0 && error == 0) error = errno;
  return error;
}

}  // namespace

void write_text_file(const std::string& path, const std::string& text) {
  const std::string temporary = path + ".tmp." + std::to_string(::getpid());
  int error = write_all(temporary, text);
  if (error == 0 && std::rename(temporary.c_str(), path.c_str()) != 0) error = errno;
  if (error != 0) {
    std::remove(temporary.c_str());
    throw Error(Exit::checkpoint, path + ": cannot write: " + std::strerror(error));
  }
}

}  // namespace fmnist
