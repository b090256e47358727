// Which fmnist_dist this is: the release (CMakeLists.txt's project VERSION, CHANGELOG.md), the Git
// commit the build was made from and the instruction set of its kernels. --version prints them and
// every checkpoint records the first two (root attributes, docs/models.md: Checkpoints), so a result
// can be cited and a file traced to the build that wrote it.
#pragma once

#include <string>
#include <string_view>

namespace fmnist {

// "1.0.0".
std::string_view version();
// "55646ff4d6f6", "55646ff4d6f6-modified" (built with changes not committed), or "unknown" (not
// built from a Git checkout).
std::string_view git_commit();
// What --version prints for `program`, one fact per line, the first "fmnist_dist 1.0.0":
//   fmnist_dist 1.0.0
//   commit 55646ff4d6f6
//   kernels avx512 (64-byte vectors), fma
//   license Apache-2.0
std::string version_text(std::string_view program);

}  // namespace fmnist
