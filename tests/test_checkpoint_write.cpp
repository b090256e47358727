// write_checkpoint's atomic replacement: no temporary file is left behind after success or
// failure, and a failed write (missing or read-only folder, file-size limit standing in for a
// full disk, a folder in the way) throws Error(Exit::checkpoint) and leaves the old file intact.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include "test_checkpoint_helpers.hpp"

namespace fmnist::test {
namespace {

TEST(CheckpointWrite, ReplacesTheFileAndLeavesNoTemporary) {
  TempDir dir;
  write_checkpoint(dir.file("c.h5"), sample_checkpoint(1, false));
  write_checkpoint(dir.file("c.h5"), sample_checkpoint(2, true));
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"c.h5"});
  EXPECT_EQ(read_checkpoint(dir.file("c.h5")).history.epochs(), 2u);
}

TEST(CheckpointWrite, MissingFolderIsAnErrorNamingThePath) {
  TempDir dir;
  const std::string path = dir.file("absent/c.h5");
  const std::string message = expect_error(Exit::checkpoint, [&] { write_checkpoint(path, sample_checkpoint(1, false)); });
  EXPECT_EQ(message.rfind(path + ": cannot write: ", 0), 0u) << message;
  EXPECT_NE(message.find("No such file or directory"), std::string::npos) << message;
  EXPECT_TRUE(dir.entries().empty());
}

TEST(CheckpointWrite, ReadOnlyFolderKeepsThePreviousFile) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores folder permissions";
  TempDir dir;
  const std::string path = dir.file("c.h5");
  write_checkpoint(path, sample_checkpoint(1, false));
  const auto before = read_bytes(path);
  std::filesystem::permissions(dir.path(), std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  const std::string message = expect_error(Exit::checkpoint, [&] { write_checkpoint(path, sample_checkpoint(2, false)); });
  EXPECT_NE(message.find("Permission denied"), std::string::npos) << message;
  std::filesystem::permissions(dir.path(), std::filesystem::perms::owner_all);
  EXPECT_TRUE(before == read_bytes(path));
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"c.h5"});
}

// RLIMIT_FSIZE makes writes past the limit fail with EFBIG, as a full disk fails with ENOSPC.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &saved_);
    previous_handler_ = signal(SIGXFSZ, SIG_IGN);
    rlimit limited = saved_;
    limited.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &limited);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &saved_);
    signal(SIGXFSZ, previous_handler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  rlimit saved_{};
  sighandler_t previous_handler_;
};

TEST(CheckpointWrite, FailedWriteKeepsThePreviousFileAndRemovesTheTemporary) {
  TempDir dir;
  const std::string path = dir.file("c.h5");
  write_checkpoint(path, sample_checkpoint(1, false));
  const auto before = read_bytes(path);
  std::string message;
  {
    const FileSizeLimit limit(100000);  // the weights alone take 373 KB
    message = expect_error(Exit::checkpoint, [&] { write_checkpoint(path, sample_checkpoint(2, true)); });
  }
  EXPECT_EQ(message.rfind(path + ": cannot write: ", 0), 0u) << message;
  EXPECT_NE(message.find("File too large"), std::string::npos) << message;
  EXPECT_TRUE(before == read_bytes(path));
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"c.h5"});
  EXPECT_EQ(read_checkpoint(path).history.epochs(), 1u);
}

TEST(CheckpointWrite, FolderInTheWayIsAnErrorAndLeavesNoTemporary) {
  TempDir dir;
  std::filesystem::create_directories(dir.file("c.h5/inside"));
  const std::string message = expect_error(Exit::checkpoint, [&] { write_checkpoint(dir.file("c.h5"), sample_checkpoint(1, false)); });
  EXPECT_NE(message.find("cannot rename"), std::string::npos) << message;
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"c.h5"});
}

TEST(CheckpointWrite, WrongSizedInputIsAnInternalError) {
  TempDir dir;
  Checkpoint c = sample_checkpoint(1, false);
  c.weights.pop_back();
  expect_error(Exit::internal, [&] { write_checkpoint(dir.file("c.h5"), c); });
  c = sample_checkpoint(2, false);
  c.history.seconds.pop_back();
  expect_error(Exit::internal, [&] { write_checkpoint(dir.file("c.h5"), c); });
  EXPECT_TRUE(dir.entries().empty());
}

}  // namespace
}  // namespace fmnist::test
