// The Keras initializers (initializers.hpp), one function each in a table indexed by Initializer,
// with Keras's formulas (tf_keras/initializers/initializers.py, Keras 3's
// keras/src/initializers/random_initializers.py). Each draws its values in double from the shared
// 53-bit uniform; the model's scalar type only rounds the result, so the float and double models
// start from the same weights.
#include "initializers.hpp"

// GCC 12's false -Wmaybe-uninitialized inside its AVX-512 intrinsics (GCC bug 105593), as in
// eigen_views.hpp: silenced for exactly these headers.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#include <Eigen/QR>
#pragma GCC diagnostic pop

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

// Keras's fans (_compute_fans in tf_keras/initializers/initializers.py, compute_fans in Keras 3's
// random_initializers.py): a kernel (kh, kw, in, out) or (in, out); a vector (n) has n and n.
Fans fans(const std::vector<int>& shape) {
  if (shape.empty()) return {};
  if (shape.size() == 1) return {double(shape[0]), double(shape[0])};
  double receptive = 1;
  for (std::size_t i = 0; i + 2 < shape.size(); ++i) receptive *= shape[i];
  return {receptive * shape[shape.size() - 2], receptive * shape.back()};
}

// What a fill gets: the tensor's values, its Keras fans and shape, its initializer's arguments.
struct Tensor {
  std::span<double> w;
  Fans f;
  const std::vector<int>& shape;
  const InitializerArgs& args;
};

void uniform_in(std::span<double> w, double limit, Uniform& uniform) {
  for (double& v : w) v = -limit + 2.0 * limit * uniform();
}

// A standard normal draw by Box-Muller (two uniforms, the radius's first).
double normal(Uniform& u) {
  const double radius = std::sqrt(-2.0 * std::log(1.0 - u()));
  return radius * std::cos(2.0 * std::numbers::pi * u());
}

// Keras's truncated normal: a standard normal draw, drawn again while beyond two (stddevs).
double truncated(Uniform& u) {
  double z;
  do {
    z = normal(u);
  } while (std::abs(z) > 2.0);
  return z;
}

// VarianceScaling's truncated normal: scale / n is the variance after the cut, hence Keras's
// correction 0.87962566103423978 (the standard deviation of a standard normal cut at 2).
void scaled_truncated(std::span<double> w, double variance, Uniform& u) {
  const double stddev = std::sqrt(variance) / 0.87962566103423978;
  for (double& v : w) v = truncated(u) * stddev;
}

void glorot_uniform(const Tensor& t, Uniform& u) { uniform_in(t.w, std::sqrt(6.0 / (t.f.in + t.f.out)), u); }

void he_uniform(const Tensor& t, Uniform& u) { uniform_in(t.w, std::sqrt(6.0 / t.f.in), u); }

void he_normal(const Tensor& t, Uniform& u) { scaled_truncated(t.w, 2.0 / t.f.in, u); }

void zeros(const Tensor& t, Uniform&) { std::fill(t.w.begin(), t.w.end(), 0.0); }

void ones(const Tensor& t, Uniform&) { std::fill(t.w.begin(), t.w.end(), 1.0); }

// The VarianceScaling ones as Keras computes them: scale / max(1, n), n the fans' mean or fan_in.
void glorot_normal(const Tensor& t, Uniform& u) {
  scaled_truncated(t.w, 1.0 / std::max(1.0, (t.f.in + t.f.out) / 2.0), u);
}

void lecun_uniform(const Tensor& t, Uniform& u) { uniform_in(t.w, std::sqrt(3.0 / std::max(1.0, t.f.in)), u); }

void lecun_normal(const Tensor& t, Uniform& u) { scaled_truncated(t.w, 1.0 / std::max(1.0, t.f.in), u); }

void random_normal(const Tensor& t, Uniform& u) {
  for (double& v : t.w) v = t.args.mean + t.args.stddev * normal(u);
}

void random_uniform(const Tensor& t, Uniform& u) {
  for (double& v : t.w) v = t.args.minval + (t.args.maxval - t.args.minval) * u();
}

// Keras's TruncatedNormal: mean + stddev * z, z cut at 2, without VarianceScaling's correction.
void truncated_normal(const Tensor& t, Uniform& u) {
  for (double& v : t.w) v = t.args.mean + t.args.stddev * truncated(u);
}

// Keras's Orthogonal: a (max(r, c), min(r, c)) standard normal matrix, r the product of all but
// the last dimension and c the last; its thin QR; Q's columns times the signs of R's diagonal;
// transposed when r < c; times gain. (A vector is refused when the spec is read.)
void orthogonal(const Tensor& t, Uniform& u) {
  const Eigen::Index cols = t.shape.back(), rows = Eigen::Index(t.w.size()) / cols;
  Eigen::MatrixXd a(std::max(rows, cols), std::min(rows, cols));
  for (Eigen::Index i = 0; i < a.rows(); ++i)
    for (Eigen::Index j = 0; j < a.cols(); ++j) a(i, j) = normal(u);
  const Eigen::HouseholderQR<Eigen::MatrixXd> qr(a);
  Eigen::MatrixXd q = qr.householderQ() * Eigen::MatrixXd::Identity(a.rows(), a.cols());
  for (Eigen::Index j = 0; j < a.cols(); ++j) {
    const double d = qr.matrixQR()(j, j);
    q.col(j) *= double((d > 0) - (d < 0));
  }
  if (rows < cols) q.transposeInPlace();
  for (Eigen::Index i = 0; i < rows; ++i)
    for (Eigen::Index j = 0; j < cols; ++j) t.w[std::size_t(i * cols + j)] = t.args.gain * q(i, j);
}

void constant(const Tensor& t, Uniform&) { std::fill(t.w.begin(), t.w.end(), t.args.value); }

using Fill = void (*)(const Tensor&, Uniform&);
struct InitializerRow {
  Initializer initializer;
  Fill fill;
};
constexpr InitializerRow kInitializers[] = {
    {Initializer::glorot_uniform, glorot_uniform}, {Initializer::he_uniform, he_uniform},
    {Initializer::he_normal, he_normal},           {Initializer::zeros, zeros},
    {Initializer::ones, ones},                     {Initializer::glorot_normal, glorot_normal},
    {Initializer::lecun_uniform, lecun_uniform},   {Initializer::lecun_normal, lecun_normal},
    {Initializer::random_normal, random_normal},   {Initializer::random_uniform, random_uniform},
    {Initializer::truncated_normal, truncated_normal}, {Initializer::orthogonal, orthogonal},
    {Initializer::constant, constant}};
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
    kInitializers[static_cast<std::size_t>(t.initializer)].fill({values, fans(t.shape), t.shape, t.initializer_args}, uniform);
    std::transform(values.begin(), values.end(), params + t.offset, [](double v) { return T(v); });
  }
}

template void initialize<float>(const ModelPlan&, std::uint64_t, float*);
template void initialize<double>(const ModelPlan&, std::uint64_t, double*);

}  // namespace fmnist
