// The Keras initializers (initializers.hpp), one function each in a table indexed by Initializer.
// Each draws its values in double from the shared 53-bit uniform; the model's scalar type only
// rounds the result, so the float and double models start from the same weights.
#include "initializers.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <random>
#include <span>
#include <utility>
#include <vector>

namespace fmnist {
namespace {

// [0, 1) with 53 bits from the one generator: every tensor draws from it in arena order.
struct Uniform {
  std::mt19937_64 rng;
  double operator()() { return double(rng() >> 11) * 0x1.0p-53; }
};

struct Fans {
  double in = 1, out = 1;
};

// Keras's fans of a kernel (kh, kw, in, out) or (in, out); 1 and 1 for a vector.
Fans fans(const std::vector<int>& shape) {
  if (shape.size() < 2) return {};
  double receptive = 1;
  for (std::size_t i = 0; i + 2 < shape.size(); ++i) receptive *= shape[i];
  return {receptive * shape[shape.size() - 2], receptive * shape.back()};
}

void uniform_in(std::span<double> w, double limit, Uniform& uniform) {
  for (double& v : w) v = -limit + 2.0 * limit * uniform();
}

void glorot_uniform(std::span<double> w, Fans f, Uniform& u) { uniform_in(w, std::sqrt(6.0 / (f.in + f.out)), u); }

void he_uniform(std::span<double> w, Fans f, Uniform& u) { uniform_in(w, std::sqrt(6.0 / f.in), u); }

// Keras: a normal of this stddev truncated at two stddevs (redrawn beyond), by Box-Muller.
void he_normal(std::span<double> w, Fans f, Uniform& u) {
  const double stddev = std::sqrt(2.0 / f.in) / 0.87962566103423978;
  for (double& v : w) {
    double z;
    do {
      const double radius = std::sqrt(-2.0 * std::log(1.0 - u()));  // drawn first
      z = radius * std::cos(2.0 * std::numbers::pi * u());
    } while (std::abs(z) > 2.0);
    v = z * stddev;
  }
}

void zeros(std::span<double> w, Fans, Uniform&) { std::fill(w.begin(), w.end(), 0.0); }

void ones(std::span<double> w, Fans, Uniform&) { std::fill(w.begin(), w.end(), 1.0); }

using Fill = void (*)(std::span<double>, Fans, Uniform&);
struct InitializerRow {
  Initializer initializer;
  Fill fill;
};
constexpr InitializerRow kInitializers[] = {{Initializer::glorot_uniform, glorot_uniform},
                                            {Initializer::he_uniform, he_uniform},
                                            {Initializer::he_normal, he_normal},
                                            {Initializer::zeros, zeros},
                                            {Initializer::ones, ones}};
static_assert(std::size(kInitializers) == static_cast<std::size_t>(Initializer::count), "one row per Initializer");
static_assert(std::ranges::all_of(kInitializers, [](const InitializerRow& r) {
  return &r - kInitializers == static_cast<std::ptrdiff_t>(r.initializer);
}), "rows in Initializer's order");

}  // namespace

template <typename T>
void initialize(const ModelPlan& plan, std::uint64_t seed, T* params) {
  Uniform uniform{std::mt19937_64(seed)};
  std::vector<double> values;
  for (const TensorSpec& t : plan.tensors) {
    values.resize(t.size);
    kInitializers[static_cast<std::size_t>(t.initializer)].fill(values, fans(t.shape), uniform);
    std::transform(values.begin(), values.end(), params + t.offset, [](double v) { return T(v); });
  }
}

template void initialize<float>(const ModelPlan&, std::uint64_t, float*);
template void initialize<double>(const ModelPlan&, std::uint64_t, double*);

}  // namespace fmnist
