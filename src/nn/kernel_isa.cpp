// The kernels' instruction set as text (see kernel_isa.hpp), from the vector width simd.hpp chose
// and the compiler's feature macros of this build.
#include "fmnist/kernel_isa.hpp"

#include "simd.hpp"

namespace fmnist {

std::string kernel_isa() {
  std::string text;
  if (detail::kVectorBytes == 64) {
    text = "avx512";
  } else if (detail::kVectorBytes == 32) {
#if defined(__AVX2__)
    text = "avx2";
#else
    text = "avx";
#endif
  } else {
#if defined(__aarch64__)
    text = "neon";
#else
    text = "sse2";
#endif
  }
  text += " (" + std::to_string(detail::kVectorBytes) + "-byte vectors)";
#if defined(__FMA__)
  text += ", fma";
#endif
  return text;
}

}  // namespace fmnist
