// The release and the commit of this build (version.hpp): FMNIST_VERSION comes from CMakeLists.txt's
// project VERSION, FMNIST_GIT_COMMIT from the header src/version/commit.cmake writes at every
// build, so a new commit needs no new cmake run.
#include "fmnist/version.hpp"

#include "fmnist/kernel_isa.hpp"
#include "version_commit.hpp"

namespace fmnist {

std::string_view version() { return FMNIST_VERSION; }

std::string_view git_commit() { return FMNIST_GIT_COMMIT; }

std::string version_text(std::string_view program) {
  return std::string(program) + " " + std::string(version()) + "\ncommit " + std::string(git_commit()) +
         "\nkernels " + kernel_isa() + "\nlicense Apache-2.0\n";
}

}  // namespace fmnist
