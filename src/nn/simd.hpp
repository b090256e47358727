// Private to src/nn: a 64-byte vector of T (16 floats, 8 doubles) through GCC's vector extensions,
// so the hand-blocked kernels are one portable source: AVX-512 registers with -march=native on
// Zen 4, several narrower registers elsewhere. a * b + c contracts to FMA (rounding only).
#pragma once

#include <cstring>

// Without AVX-512 the 64-byte vectors are not passed in registers; these helpers are always
// inlined, so GCC's note that such an ABI changed between versions (-Wpsabi) does not apply.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"

namespace fmnist::detail {

template <typename T>
struct VectorOf;  // (the attribute cannot apply to a dependent type: one typedef per scalar)
template <>
struct VectorOf<float> {
  typedef float type __attribute__((vector_size(64)));
};
template <>
struct VectorOf<double> {
  typedef double type __attribute__((vector_size(64)));
};

template <typename T>
struct Simd {
  using V = typename VectorOf<T>::type;
  static constexpr int kLanes = int(64 / sizeof(T));

  [[gnu::always_inline]] static V load(const T* p) {  // unaligned
    V v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  [[gnu::always_inline]] static void store(T* p, V v) { std::memcpy(p, &v, sizeof v); }
  // x - 0 == x exactly (x + 0 is not, for -0), so this is one broadcast instruction.
  [[gnu::always_inline]] static V splat(T x) { return x - V{}; }
};

}  // namespace fmnist::detail

#pragma GCC diagnostic pop
