// The one gradient checker of the nn tests (after Caffe's GradientChecker), and the one
// comparison helper: analytic gradients against central differences in double, skipping the
// points where the function has a kink (ReLU, max) within the step, which show as the central
// differences at two step sizes disagreeing; a real gradient error shows at both.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "fmnist/model_spec.hpp"

namespace fmnist::test {

inline std::vector<double> random_vector(std::size_t size, std::mt19937_64& rng, double lo = -1, double hi = 1) {
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<double> v(size);
  for (double& x : v) x = dist(rng);
  return v;
}

// Values per image of a spec's input, and n images of uniform [0, 1) pixels drawn from `seed`.
inline std::size_t image_size(const ModelSpec& spec) {
  return std::size_t(spec.input_shape[0]) * spec.input_shape[1] * spec.input_shape[2];
}
inline std::vector<double> random_images(const ModelSpec& spec, int n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  return random_vector(std::size_t(n) * image_size(spec), rng, 0, 1);
}

template <typename T>
std::vector<T> cast(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

inline double dot(const double* a, const double* b, std::size_t n) {
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

// Largest |got - want| relative to the largest |want|: how far a fast path is from a reference.
template <typename T>
double max_rel_diff(const std::vector<T>& got, const std::vector<double>& want) {
  EXPECT_EQ(got.size(), want.size());
  double diff = 0, scale = 1e-30;
  for (std::size_t i = 0; i < want.size() && i < got.size(); ++i) {
    diff = std::max(diff, std::abs(double(got[i]) - want[i]));
    scale = std::max(scale, std::abs(want[i]));
  }
  return diff / scale;
}

struct GradientChecker {
  double step = 1e-5;        // central difference step (the loss's rounding noise / step must stay small)
  double threshold = 1e-6;   // allowed |numeric - analytic| / max(|numeric|, |analytic|, floor)
  double floor = 1e-3;       // below this gradient magnitude, errors count absolutely
  std::size_t sample = 0;    // check this many random points of each tensor (0: all)
  double max_kinks = 0.1;    // fraction of points that may be skipped as kinks

  struct Result {
    std::size_t checked = 0, kinks = 0;
    double largest = 0;  // largest |analytic| checked: a check that saw only zeros proves nothing
  };

  // Compares analytic[i] with the central difference of loss() with respect to x[i] (x is
  // restored afterwards), for every i or a sample of them; EXPECTs, naming `what` and i.
  Result check(double* x, const double* analytic, std::size_t n, const std::function<double()>& loss,
               const std::string& what, std::uint64_t seed = 1) const {
    std::vector<std::size_t> points(n);
    std::iota(points.begin(), points.end(), std::size_t{0});
    if (sample > 0 && sample < n) {
      std::mt19937_64 rng(seed);
      std::shuffle(points.begin(), points.end(), rng);
      points.resize(sample);
    }
    auto central = [&](std::size_t i, double h) {
      const double saved = x[i];
      x[i] = saved + h;
      const double up = loss();
      x[i] = saved - h;
      const double down = loss();
      x[i] = saved;
      return (up - down) / (2 * h);
    };
    Result r;
    for (std::size_t i : points) {
      const double numeric = central(i, step);
      const double wide = central(i, 3 * step);
      const double scale = std::max({std::abs(numeric), std::abs(analytic[i]), floor});
      if (std::abs(numeric - wide) / scale > threshold) {
        ++r.kinks;
        continue;
      }
      EXPECT_LE(std::abs(numeric - analytic[i]) / scale, threshold)
          << what << "[" << i << "]: numeric " << numeric << " analytic " << analytic[i];
      r.largest = std::max(r.largest, std::abs(analytic[i]));
      ++r.checked;
    }
    EXPECT_LE(double(r.kinks), max_kinks * double(points.size())) << what << ": too many kinks, the check measures nothing";
    return r;
  }

  Result check(std::vector<double>& x, const std::vector<double>& analytic, const std::function<double()>& loss,
               const std::string& what, std::uint64_t seed = 1) const {
    EXPECT_EQ(x.size(), analytic.size()) << what;
    return check(x.data(), analytic.data(), std::min(x.size(), analytic.size()), loss, what, seed);
  }
};

}  // namespace fmnist::test
