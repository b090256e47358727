// write_file_atomically: replaces the file, leaves no temporary behind, and reports a folder
// that is missing or in the way as an output error (exit 4).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "fmnist/atomic_file.hpp"
#include "fmnist/error.hpp"

namespace fmnist {
namespace {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "fmnist_io_XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  std::size_t entries() const {
    return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(path_), {}));
  }

 private:
  std::string path_;
};

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(WriteFileAtomically, ReplacesTheFileAndLeavesNoTemporary) {
  TempDir dir;
  write_file_atomically(dir.file("h.csv"), "first, longer content\n");
  write_file_atomically(dir.file("h.csv"), "second\n");
  EXPECT_EQ(read_text(dir.file("h.csv")), "second\n");
  EXPECT_EQ(dir.entries(), 1u);
}

TEST(WriteFileAtomically, MissingFolderIsACheckpointError) {
  TempDir dir;
  const std::string path = dir.file("absent/h.csv");
  try {
    write_file_atomically(path, "x");
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Exit::checkpoint);
    EXPECT_EQ(std::string(e.what()), path + ": cannot write: cannot create " + path + ".tmp." + std::to_string(getpid()) + ": No such file or directory");
  }
  EXPECT_EQ(dir.entries(), 0u);
}

TEST(WriteFileAtomically, FolderInTheWayIsAnErrorAndLeavesNoTemporary) {
  TempDir dir;
  std::filesystem::create_directories(dir.file("h.csv/inside"));
  EXPECT_THROW(write_file_atomically(dir.file("h.csv"), "x"), Error);
  EXPECT_EQ(dir.entries(), 1u);
}

}  // namespace
}  // namespace fmnist
