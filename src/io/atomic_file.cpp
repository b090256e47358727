// write_file_atomically with POSIX calls: open (O_CREAT | O_EXCL | O_NOFOLLOW, a name with random
// bits), write (retrying EINTR), fsync, close, rename, fsync of the folder. File systems that cannot
// fsync a file or a folder (EINVAL) are tolerated.
#include "fmnist/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "fmnist/error.hpp"
#include "random_bits.hpp"

namespace fmnist {
namespace {

// A failed step: what was being done and the errno it failed with.
struct Failure {
  std::string step;
  int error;
};

// Creates `path` (never an existing file or symlink there) with the bytes, fsynced; `created` is
// set as soon as the file is ours to remove.
void write_synced(const std::string& path, std::string_view bytes, bool& created) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) throw Failure{"cannot create " + path, errno};
  created = true;
  for (std::size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      throw Failure{"cannot write " + path, error};
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 && errno != EINVAL) {
    const int error = errno;
    ::close(fd);
    throw Failure{"cannot fsync " + path, error};
  }
  if (::close(fd) != 0) throw Failure{"cannot close " + path, errno};
}

void sync_folder(const std::string& path) {
  const auto parent = std::filesystem::path(path).parent_path();
  const std::string folder = parent.empty() ? "." : parent.string();
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw Failure{"cannot open folder " + folder, errno};
  const int result = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (result != 0 && error != EINVAL) throw Failure{"cannot fsync folder " + folder, error};
}

}  // namespace

void write_file_atomically(const std::string& path, std::string_view bytes) {
  const std::string temporary = path + ".tmp." + std::to_string(::getpid()) + "." + io::random_hex(8);
  bool created = false;
  try {
    write_synced(temporary, bytes, created);
    if (std::rename(temporary.c_str(), path.c_str()) != 0) throw Failure{"cannot rename to " + path, errno};
  } catch (const Failure& f) {
    if (created) ::unlink(temporary.c_str());  // never a file of the same name that this call did not create
    throw Error(Exit::checkpoint, path + ": cannot write: " + f.step + ": " + std::strerror(f.error));
  }
  try {
    sync_folder(path);
  } catch (const Failure& f) {
    throw Error(Exit::checkpoint, path + ": written, but " + f.step + ": " + std::strerror(f.error));
  }
}

}  // namespace fmnist
