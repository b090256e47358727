// The out-dir lock and run ids (include/fmnist/run_dir.hpp). The lock is fcntl's F_OFD_SETLK, a
// write lock on the whole file: it belongs to the open file description, so nothing else this
// process opens or closes can drop it, and it ends with the process. Kernels without OFD locks
// (EINVAL) get a classic F_SETLK lock. The lock file stays after the run; only its lock matters.
#include "fmnist/run_dir.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <thread>
#include <utility>

#include "fmnist/error.hpp"
#include "random_bits.hpp"

namespace fmnist {
namespace {

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "unknown";
  return name;
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm parts{};
  ::gmtime_r(&now, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &parts);
  return text;
}

// The value of "key value" in the lock file's text, or "unknown".
std::string field(const std::string& text, const std::string& key) {
  const std::string prefix = key + " ";
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t end = std::min(text.find('\n', at), text.size());
    if (text.compare(at, prefix.size(), prefix) == 0) return text.substr(at + prefix.size(), end - at - prefix.size());
    at = end + 1;
  }
  return "unknown";
}

std::string read_all(int fd) {
  std::string text(4096, '\0');
  const ssize_t n = ::pread(fd, text.data(), text.size(), 0);
  text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return text;
}

// The holder as its lock file names it; it may have locked the file an instant before writing its
// name, so the text is given a second to appear.
std::string holder_text(int fd) {
  std::string text = read_all(fd);
  for (int i = 0; i < 20 && text.find("\nstarted ") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    text = read_all(fd);
  }
  return "host " + field(text, "host") + ", pid " + field(text, "pid") + ", started " + field(text, "started") +
         ", run id " + field(text, "run_id");
}

// F_OFD_SETLK, or F_SETLK where the kernel lacks OFD locks; the errno of a failure, or 0.
int try_lock(int fd) {
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  if (::fcntl(fd, F_OFD_SETLK, &lock) == 0) return 0;
  if (errno != EINVAL) return errno;
  lock = {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  return ::fcntl(fd, F_SETLK, &lock) == 0 ? 0 : errno;
}

}  // namespace

std::string new_run_id() { return io::random_hex(16); }

OutDirLock OutDirLock::take(const std::string& dir) {
  OutDirLock lock;
  lock.path_ = dir + "/" + kLockFileName;
  lock.fd_ = ::open(lock.path_.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (lock.fd_ < 0)
    throw Error(Exit::checkpoint, "--out-dir " + dir + ": cannot create the lock file " + lock.path_ + ": " +
                                      std::strerror(errno));
  const int error = try_lock(lock.fd_);
  if (error == EAGAIN || error == EACCES)
    throw Error(Exit::usage, "--out-dir " + dir + ": in use by another run (" + holder_text(lock.fd_) +
                                 "): wait for it to end, or choose another --out-dir");
  if (error != 0 && error != ENOLCK && error != EOPNOTSUPP && error != ENOSYS)
    throw Error(Exit::checkpoint, "--out-dir " + dir + ": cannot lock " + lock.path_ + ": " + std::strerror(error));
  lock.held_ = error == 0;
  if (!lock.held_)
    lock.warning_ = "--out-dir " + dir + ": this file system cannot lock " + lock.path_ + " (" + std::strerror(error) +
                    "): another run started on the same folder would not be refused";
  lock.host_ = host_name();
  lock.started_ = utc_now();
  lock.record_run_id("");
  return lock;
}

void OutDirLock::record_run_id(const std::string& run_id) {
  const std::string text = "host " + host_ + "\npid " + std::to_string(::getpid()) + "\nstarted " + started_ +
                           "\nrun_id " + (run_id.empty() ? "(not yet known)" : run_id) + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()))
    throw Error(Exit::checkpoint, path_ + ": cannot write: " + std::strerror(errno));
}

OutDirLock::~OutDirLock() {
  if (fd_ >= 0) ::close(fd_);
}

OutDirLock::OutDirLock(OutDirLock&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), held_(other.held_), path_(std::move(other.path_)),
      host_(std::move(other.host_)), started_(std::move(other.started_)), warning_(std::move(other.warning_)) {}

OutDirLock& OutDirLock::operator=(OutDirLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    held_ = other.held_;
    path_ = std::move(other.path_);
    host_ = std::move(other.host_);
    started_ = std::move(other.started_);
    warning_ = std::move(other.warning_);
  }
  return *this;
}

}  // namespace fmnist
