// Private to the io module: random bits from the kernel (getrandom), as lower-case hex, for names
// no other process can pick (temporary files) and for run ids.
#pragma once

#include <cstddef>
#include <string>

namespace fmnist::io {

// 2 * bytes hex digits of the kernel's random generator; throws Error(Exit::internal) if it fails.
std::string random_hex(std::size_t bytes);

}  // namespace fmnist::io
