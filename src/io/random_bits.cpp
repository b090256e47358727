// random_hex (random_bits.hpp): getrandom(2), retried on EINTR and short reads.
#include "random_bits.hpp"

#include <sys/random.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "fmnist/error.hpp"

namespace fmnist::io {

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  for (std::size_t done = 0; done < bytes;) {
    const ssize_t n = ::getrandom(raw.data() + done, bytes - done, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error(Exit::internal, std::string("getrandom failed: ") + std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  for (unsigned char b : raw) {
    text += kDigits[b >> 4];
    text += kDigits[b & 15];
  }
  return text;
}

}  // namespace fmnist::io
