// The version facts of a build (include/fmnist/version.hpp): the release is CMakeLists.txt's
// project VERSION, the commit has the form commit.cmake writes, and --version's text names both and
// the kernels' instruction set. tests/docs/version.sh runs the programs and commit.cmake itself.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "fmnist/kernel_isa.hpp"
#include "fmnist/version.hpp"

namespace fmnist {
namespace {

// The VERSION of CMakeLists.txt's project() line, read from the source tree.
std::string cmake_project_version() {
  std::ifstream in(std::string(FMNIST_SOURCE_DIR) + "/CMakeLists.txt");
  std::stringstream text;
  text << in.rdbuf();
  std::smatch m;
  const std::string s = text.str();
  return std::regex_search(s, m, std::regex(R"(project\(fmnist_dist VERSION ([0-9]+\.[0-9]+\.[0-9]+))")) ? m[1].str()
                                                                                                          : "";
}

TEST(Version, IsTheProjectVersionOfCMakeLists) {
  const std::string expected = cmake_project_version();
  ASSERT_FALSE(expected.empty()) << "no project(fmnist_dist VERSION x.y.z) in CMakeLists.txt";
  EXPECT_EQ(version(), expected);
  EXPECT_NE(version(), "0.0.0");  // the control: a version the file does not name
}

TEST(Version, CommitIsAShortHashOrUnknown) {
  const std::string commit(git_commit());
  EXPECT_TRUE(std::regex_match(commit, std::regex("[0-9a-f]{12}(-modified)?|unknown"))) << commit;
}

TEST(Version, TextNamesProgramVersionCommitAndKernels) {
  const std::string text = version_text("fmnist_inspect");
  EXPECT_EQ(text.substr(0, text.find('\n')), "fmnist_inspect " + std::string(version()));
  EXPECT_NE(text.find("\ncommit " + std::string(git_commit()) + "\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nkernels " + kernel_isa() + "\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nlicense Apache-2.0\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace fmnist
