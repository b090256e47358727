// Private to src/nn: the build's native vector of T through GCC's vector extensions, so the
// hand-blocked kernels are one portable source: 64 bytes and 32 registers with AVX-512, 32 bytes
// and 16 registers with AVX/AVX2, 16 bytes and 16 registers otherwise (SSE2, -DFMNIST_NATIVE=OFF).
// Kernels size their register blocks from kRegisters. a * b + c contracts to FMA where the ISA has it.
#pragma once

#include <cstring>

namespace fmnist::detail {

#if defined(__AVX512F__)
inline constexpr int kVectorBytes = 64, kRegisters = 32;
#elif defined(__AVX__)
inline constexpr int kVectorBytes = 32, kRegisters = 16;
#else
inline constexpr int kVectorBytes = 16, kRegisters = 16;
#endif

template <typename T>
struct VectorOf;  // (the attribute cannot apply to a dependent type: one typedef per scalar)
template <>
struct VectorOf<float> {
  typedef float type __attribute__((vector_size(kVectorBytes)));
};
template <>
struct VectorOf<double> {
  typedef double type __attribute__((vector_size(kVectorBytes)));
};

template <typename T>
struct Simd {
  using V = typename VectorOf<T>::type;
  static constexpr int kLanes = int(kVectorBytes / sizeof(T));

  [[gnu::always_inline]] static V load(const T* p) {  // unaligned
    V v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  [[gnu::always_inline]] static void store(T* p, V v) { std::memcpy(p, &v, sizeof v); }
  // x - 0 == x exactly (x + 0 is not, for -0), so this is one broadcast instruction.
  [[gnu::always_inline]] static V splat(T x) { return x - V{}; }
  // Keeps v in a register: GCC would otherwise fold a loaded vector into every FMA that uses it
  // as a memory operand, one load per use instead of one.
  [[gnu::always_inline]] static void pin(V& v) { asm("" : "+v"(v)); }
};

}  // namespace fmnist::detail
