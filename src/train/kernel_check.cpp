// The instruction-set comparison (see kernel_check.hpp): one gather of "isa\nhost" to rank 0,
// which groups the ranks by instruction set and prints one warning when there is more than one.
#include "kernel_check.hpp"

#include <cstdio>
#include <map>

#include "fmnist/kernel_isa.hpp"

namespace fmnist {

std::string kernel_difference(const std::vector<std::string>& isa_and_host) {
  std::map<std::string, std::string> ranks_of;  // isa -> "rank 0 (a), rank 2 (b)"
  for (std::size_t r = 0; r < isa_and_host.size(); ++r) {
    const std::string& text = isa_and_host[r];
    const auto newline = text.find('\n');
    const std::string isa = text.substr(0, newline);
    const std::string host = newline == std::string::npos ? "?" : text.substr(newline + 1);
    std::string& names = ranks_of[isa];
    names += (names.empty() ? "" : ", ") + ("rank " + std::to_string(r) + " (" + host + ")");
  }
  if (ranks_of.size() < 2) return "";
  std::string groups;
  for (const auto& [isa, names] : ranks_of) groups += (groups.empty() ? "" : "; ") + isa + " on " + names;
  return "the ranks' kernels were built for different instruction sets: " + groups +
         ". Training works, but the results are not the same bytes as on one kind of machine; for identical "
         "results build with -DFMNIST_NATIVE=OFF on every node (the same portable binary everywhere).";
}

void warn_if_kernels_differ(const Comm& comm) {
  const std::vector<std::string> all =
      comm.gather(kernel_isa() + "\n" + comm.host(), WatchPoint{"in the start-up comparison of the kernels"});
  const std::string warning = kernel_difference(all);
  if (comm.is_root() && !warning.empty()) std::fprintf(stderr, "fmnist_dist: warning: %s\n", warning.c_str());
}

}  // namespace fmnist
