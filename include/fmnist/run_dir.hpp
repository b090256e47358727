// A run owns its --out-dir (docs/training.md: One run per out-dir): rank 0 holds an exclusive lock
// on OUT_DIR/fmnist_dist.lock for the life of its process (an open file description lock, which
// the kernel drops when the process ends, after a crash too, and which Linux NFS clients forward to
// the server's lock manager), and the file names the holder. Each run has a run id.
#pragma once

#include <string>
#include <string_view>

namespace fmnist {

inline constexpr const char* kLockFileName = "fmnist_dist.lock";
inline constexpr std::size_t kMaxRunIdLength = 64;

// A run id as --run-id takes it: 1 to 64 letters, digits, '-', '_' or '.' (it goes into file
// names, CSV fields and shell words unquoted).
inline bool valid_run_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxRunIdLength) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// A new run id: 128 random bits from the kernel as 32 lower-case hex digits.
std::string new_run_id();

class OutDirLock {
 public:
  OutDirLock() = default;
  // Creates DIR/fmnist_dist.lock if needed, locks it and writes this process's host, pid and start
  // time into it. Throws Error(Exit::usage, "--out-dir DIR: in use by another run (host H, pid P,
  // started T, run id R): ...") when another process holds it, Error(Exit::checkpoint) when the
  // file cannot be created. A file system without locks (ENOLCK, EOPNOTSUPP) leaves the lock
  // unheld with a warning() to print.
  static OutDirLock take(const std::string& dir);
  ~OutDirLock();
  OutDirLock(OutDirLock&& other) noexcept;
  OutDirLock& operator=(OutDirLock&& other) noexcept;
  OutDirLock(const OutDirLock&) = delete;
  OutDirLock& operator=(const OutDirLock&) = delete;

  // Adds the run id to the holder's record (once it is known: a resume takes the checkpoint's).
  void record_run_id(const std::string& run_id);
  bool held() const { return held_; }
  const std::string& warning() const { return warning_; }

 private:
  int fd_ = -1;
  bool held_ = false;
  std::string path_, host_, started_, warning_;
};

}  // namespace fmnist
