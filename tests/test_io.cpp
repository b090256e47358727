// write_file_atomically: replaces the file, leaves no temporary behind, and reports a folder
// that is missing or in the way as an output error (exit 4).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "fmnist/atomic_file.hpp"
#include "fmnist/error.hpp"
#include "expect_error.hpp"
#include "temp_dir.hpp"

namespace fmnist {
namespace {

using test::expect_error;
using test::TempDir;


std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(WriteFileAtomically, ReplacesTheFileAndLeavesNoTemporary) {
  TempDir dir;
  write_file_atomically(dir.file("h.csv"), "first, longer content\n");
  write_file_atomically(dir.file("h.csv"), "second\n");
  EXPECT_EQ(read_text(dir.file("h.csv")), "second\n");
  EXPECT_EQ(dir.entries().size(), 1u);
}

TEST(WriteFileAtomically, MissingFolderIsACheckpointError) {
  TempDir dir;
  const std::string path = dir.file("absent/h.csv");
  EXPECT_EQ(expect_error(Exit::checkpoint, [&] { write_file_atomically(path, "x"); }),
            path + ": cannot write: cannot create " + path + ".tmp." + std::to_string(getpid()) +
                ": No such file or directory");
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

}  // namespace
}  // namespace fmnist
