// The start-up comparison of the ranks' kernel instruction sets (docs/clusters.md: Nodes with
// different processors): ranks built for different ones train correctly together, but their results are not
// the same bytes as on one kind of machine; rank 0 says so once, naming the ranks and hosts.
#pragma once

#include <string>
#include <vector>

#include "fmnist/comm.hpp"

namespace fmnist {

// Collective (a watched gather). Prints the warning on rank 0 when the ranks differ.
void warn_if_kernels_differ(const Comm& comm);

// The warning for the gathered "isa\nhost" texts (indexed by rank); "" when all agree.
std::string kernel_difference(const std::vector<std::string>& isa_and_host);

}  // namespace fmnist
