// open_regular_file and friends (include/fmnist/regular_file.hpp): O_NONBLOCK on the open, so a
// FIFO without a writer returns at once, then fstat; only a regular file gets its blocking mode
// back and is handed out. Every other kind is named in the caller's message.
#include "fmnist/regular_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fmnist/text.hpp"

namespace fmnist {
namespace {

// Why a file of this mode is not a regular file; "" when it is one.
std::string kind_problem(mode_t mode) {
  if (S_ISREG(mode)) return "";
  if (S_ISDIR(mode)) return "it is a folder, not a file";
  if (S_ISFIFO(mode)) return "it is a FIFO (named pipe), not a regular file";
  if (S_ISCHR(mode)) return "it is a character device, not a regular file";
  if (S_ISBLK(mode)) return "it is a block device, not a regular file";
  if (S_ISSOCK(mode)) return "it is a socket, not a regular file";
  return "it is not a regular file";
}

std::string open_problem(int error) { return error == ENOENT ? "no such file" : std::strerror(error); }

}  // namespace

RegularFile open_regular_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return {-1, open_problem(errno)};
  struct stat st {};
  std::string why = ::fstat(fd, &st) != 0 ? std::strerror(errno) : kind_problem(st.st_mode);
  if (why.empty() && ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) why = std::strerror(errno);
  if (!why.empty()) {
    ::close(fd);
    return {-1, why};
  }
  return {fd, ""};
}

std::optional<std::string> not_a_regular_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return open_problem(errno);
  const std::string why = kind_problem(st.st_mode);
  if (why.empty()) return std::nullopt;
  return why;
}

std::string read_regular_file(const std::string& path, Exit code, std::size_t max_bytes, std::string label) {
  if (label.empty()) label = path;
  const RegularFile file = open_regular_file(path);
  if (file.fd < 0) throw Error(code, label + ": cannot open (" + file.why + ")");
  std::string bytes, why;
  char buffer[1 << 16];
  while (why.empty()) {
    const ssize_t n = ::read(file.fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n < 0) why = std::string("read error (") + std::strerror(errno) + ")";
      break;
    }
    if (bytes.size() + static_cast<std::size_t>(n) > max_bytes) why = "larger than the limit of " + with_commas(max_bytes) + " bytes";
    else bytes.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(file.fd);
  if (!why.empty()) throw Error(code, label + ": " + why);
  return bytes;
}

}  // namespace fmnist
