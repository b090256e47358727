// The io module: write_file_atomically replaces the file, leaves no temporary behind, picks a new
// unguessable temporary name each time, never follows a symlink and reports a folder that is
// missing or in the way as an output error (exit 4); open_regular_file refuses FIFOs and devices
// without blocking; the out-dir lock refuses a second holder naming the first, and the kernel
// releases it when its process dies; run ids.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>

#include "fmnist/atomic_file.hpp"
#include "fmnist/error.hpp"
#include "fmnist/regular_file.hpp"
#include "fmnist/run_dir.hpp"
#include "expect_error.hpp"
#include "temp_dir.hpp"

namespace fmnist {
namespace {

using test::contains;
using test::expect_error;
using test::TempDir;

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A failing call that would block forever must fail the test instead: SIGALRM ends the process.
struct NoHang {
  NoHang() { ::alarm(20); }
  ~NoHang() { ::alarm(0); }
};

TEST(WriteFileAtomically, ReplacesTheFileAndLeavesNoTemporary) {
  TempDir dir;
  write_file_atomically(dir.file("h.csv"), "first, longer content\n");
  write_file_atomically(dir.file("h.csv"), "second\n");
  EXPECT_EQ(read_text(dir.file("h.csv")), "second\n");
  EXPECT_EQ(dir.entries().size(), 1u);
}

// The temporary name: the pid and 16 random hex digits, a new one each time (seen in the message
// of a failed creation, the only place it shows).
TEST(WriteFileAtomically, MissingFolderIsACheckpointErrorWithAnUnguessableTemporaryName) {
  TempDir dir;
  const std::string path = dir.file("absent/h.csv");
  const std::string first = expect_error(Exit::checkpoint, [&] { write_file_atomically(path, "x"); });
  const std::string second = expect_error(Exit::checkpoint, [&] { write_file_atomically(path, "x"); });
  const std::regex form(std::regex_replace(path, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") +
                        ": cannot write: cannot create .*/absent/h\\.csv\\.tmp\\." + std::to_string(getpid()) +
                        "\\.[0-9a-f]{16}: No such file or directory");
  EXPECT_TRUE(std::regex_match(first, form)) << first;
  EXPECT_TRUE(std::regex_match(second, form)) << second;
  EXPECT_NE(first, second);
  EXPECT_EQ(dir.entries().size(), 0u);
}

TEST(WriteFileAtomically, FolderInTheWayIsAnErrorAndLeavesNoTemporary) {
  TempDir dir;
  std::filesystem::create_directories(dir.file("h.csv/inside"));
  EXPECT_NE(expect_error(Exit::checkpoint, [&] { write_file_atomically(dir.file("h.csv"), "x"); })
                .find(dir.file("h.csv") + ": cannot write"),
            std::string::npos);
  EXPECT_EQ(dir.entries().size(), 1u);
}

// A symlink where the file goes is replaced by the file; what it pointed at is untouched.
TEST(WriteFileAtomically, SymlinkAtThePathIsReplacedNotFollowed) {
  TempDir dir;
  write_file_atomically(dir.file("elsewhere.txt"), "keep me\n");
  std::filesystem::create_symlink(dir.file("elsewhere.txt"), dir.file("h.csv"));
  write_file_atomically(dir.file("h.csv"), "new\n");
  EXPECT_FALSE(std::filesystem::is_symlink(dir.file("h.csv")));
  EXPECT_EQ(read_text(dir.file("h.csv")), "new\n");
  EXPECT_EQ(read_text(dir.file("elsewhere.txt")), "keep me\n");
}

TEST(RegularFile, FifoDeviceFolderAndMissingFileAreRefusedWithoutBlocking) {
  TempDir dir;
  const NoHang guard;
  ASSERT_EQ(::mkfifo(dir.file("pipe.png").c_str(), 0600), 0);
  const RegularFile fifo = open_regular_file(dir.file("pipe.png"));
  EXPECT_EQ(fifo.fd, -1);
  EXPECT_EQ(fifo.why, "it is a FIFO (named pipe), not a regular file");
  EXPECT_EQ(*not_a_regular_file(dir.file("pipe.png")), fifo.why);
  EXPECT_EQ(expect_error(Exit::data, [&] { read_regular_file(dir.file("pipe.png"), Exit::data, 100); }),
            dir.file("pipe.png") + ": cannot open (it is a FIFO (named pipe), not a regular file)");
  EXPECT_EQ(open_regular_file("/dev/null").why, "it is a character device, not a regular file");
  EXPECT_EQ(open_regular_file(dir.path()).why, "it is a folder, not a file");
  EXPECT_EQ(open_regular_file(dir.file("none")).why, "no such file");
  EXPECT_EQ(*not_a_regular_file(dir.file("none")), "no such file");
}

TEST(RegularFile, ReadsAWholeFileWithinItsLimit) {
  TempDir dir;
  write_file_atomically(dir.file("a.json"), "0123456789");
  EXPECT_FALSE(not_a_regular_file(dir.file("a.json")).has_value());
  EXPECT_EQ(read_regular_file(dir.file("a.json"), Exit::usage, 10), "0123456789");
  EXPECT_EQ(expect_error(Exit::usage, [&] { read_regular_file(dir.file("a.json"), Exit::usage, 9, "--model a"); }),
            "--model a: larger than the limit of 9 bytes");
  const RegularFile file = open_regular_file(dir.file("a.json"));
  ASSERT_GE(file.fd, 0);
  EXPECT_EQ(::fcntl(file.fd, F_GETFL) & O_NONBLOCK, 0);  // blocking again, as plain reads expect
  ::close(file.fd);
}

TEST(RunId, NewIdsAre128RandomBitsInHexAndValidIdsAreShortAndPlain) {
  const std::string a = new_run_id(), b = new_run_id();
  EXPECT_TRUE(std::regex_match(a, std::regex("[0-9a-f]{32}"))) << a;
  EXPECT_NE(a, b);
  EXPECT_TRUE(valid_run_id(a));
  EXPECT_TRUE(valid_run_id("exp-3_b.2"));
  EXPECT_FALSE(valid_run_id(""));
  EXPECT_FALSE(valid_run_id(std::string(65, 'a')));
  EXPECT_TRUE(valid_run_id(std::string(64, 'a')));
  for (const char* bad : {"a b", "a/b", "a,b", "$x", "a\nb"}) EXPECT_FALSE(valid_run_id(bad)) << bad;
}

TEST(OutDirLock, ASecondHolderIsRefusedNamingTheFirst) {
  TempDir dir;
  OutDirLock first = OutDirLock::take(dir.path());
  EXPECT_TRUE(first.held());
  first.record_run_id("run-one");
  const std::string text = read_text(dir.file(kLockFileName));
  EXPECT_TRUE(contains(text, "pid " + std::to_string(getpid()) + "\n")) << text;
  EXPECT_TRUE(contains(text, "run_id run-one\n")) << text;
  const std::string message = expect_error(Exit::usage, [&] { OutDirLock::take(dir.path()); });
  EXPECT_TRUE(contains(message, "--out-dir " + dir.path() + ": in use by another run (host ")) << message;
  EXPECT_TRUE(contains(message, ", pid " + std::to_string(getpid()) + ", started ")) << message;
  EXPECT_TRUE(contains(message, " UTC, run id run-one): wait for it to end, or choose another --out-dir")) << message;
  first = OutDirLock();  // released: the next run may take it
  EXPECT_TRUE(OutDirLock::take(dir.path()).held());
}

// A holder that dies without any cleanup (SIGKILL) leaves no stale lock: the kernel releases it.
TEST(OutDirLock, TheKernelReleasesTheLockOfAKilledProcess) {
  TempDir dir;
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    OutDirLock lock = OutDirLock::take(dir.path());
    lock.record_run_id("child");
    (void)!::write(ready[1], "x", 1);
    while (true) ::pause();
  }
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  EXPECT_TRUE(contains(expect_error(Exit::usage, [&] { OutDirLock::take(dir.path()); }),
                       "pid " + std::to_string(child) + ", started "));
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_TRUE(OutDirLock::take(dir.path()).held());
  ::close(ready[0]);
  ::close(ready[1]);
}

TEST(OutDirLock, AFolderThatCannotHoldTheLockFileIsAnOutputError) {
  TempDir dir;
  EXPECT_TRUE(contains(expect_error(Exit::checkpoint, [&] { OutDirLock::take(dir.file("absent")); }),
                       "cannot create the lock file"));
}

}  // namespace
}  // namespace fmnist
