// Tests of GlobalAveragePooling2D, GlobalMaxPooling2D and ZeroPadding2D's kernels against naive
// loops (forward and backward, float and double, odd sizes and asymmetric padding) and their input
// gradients against central differences in double; and ZeroPadding2D's padding forms and refusals.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <random>
#include <vector>

#include "expect_error.hpp"
#include "fmnist/layers.hpp"
#include "grad_check.hpp"

namespace fmnist {
namespace {

using test::GradientChecker;
using test::max_rel_diff;
using test::random_vector;

// The naive global pooling of x (n, h, w, c): y (n, c) and, for dy (n, c), dx (n, h, w, c).
struct NaiveGlobalPool {
  std::vector<double> y, dx;
  NaiveGlobalPool(const std::vector<double>& x, const std::vector<double>& dy, int n, int h, int w, int c, bool max) {
    y.assign(std::size_t(n) * c, 0.0);
    dx.assign(x.size(), 0.0);
    for (int i = 0; i < n; ++i)
      for (int k = 0; k < c; ++k) {
        auto at = [&](int r, int s) { return ((std::size_t(i) * h + r) * w + s) * c + k; };
        double best = x[at(0, 0)], sum = 0;
        std::size_t arg = at(0, 0);
        for (int r = 0; r < h; ++r)
          for (int s = 0; s < w; ++s) {
            sum += x[at(r, s)];
            if (x[at(r, s)] > best) best = x[at(r, s)], arg = at(r, s);
          }
        y[std::size_t(i) * c + k] = max ? best : sum / (h * w);
        for (int r = 0; r < h; ++r)
          for (int s = 0; s < w; ++s) {
            const double g = dy[std::size_t(i) * c + k];
            dx[at(r, s)] = max ? (at(r, s) == arg ? g : 0.0) : g / (h * w);
          }
      }
  }
};

template <typename T>
void check_global_pool(int n, int h, int w, int c, bool max) {
  std::mt19937_64 rng(h * 100 + w * 10 + c);
  const std::vector<double> x = random_vector(std::size_t(n) * h * w * c, rng);
  const std::vector<double> dy = random_vector(std::size_t(n) * c, rng);
  const NaiveGlobalPool want(x, dy, n, h, w, c, max);
  GlobalPool2D<T> pool(h, w, c, max, n);
  const std::vector<T> xt = test::cast<T>(x);
  std::vector<T> y(want.y.size()), dyt = test::cast<T>(dy), dx(x.size());
  pool.forward(xt.data(), y.data(), n);
  pool.backward(xt.data(), y.data(), dyt.data(), dx.data(), n);
  const double tolerance = sizeof(T) == 4 ? 1e-6 : 1e-14;
  EXPECT_LE(max_rel_diff(y, want.y), tolerance);
  EXPECT_LE(max_rel_diff(dx, want.dx), tolerance);
}

TEST(GlobalPool2D, MatchesNaiveLoopsInFloatAndDouble) {
  for (bool max : {false, true}) {
    SCOPED_TRACE(max ? "max" : "average");
    for (const auto& [h, w, c] : std::vector<std::array<int, 3>>{{1, 1, 1}, {3, 5, 7}, {7, 7, 33}, {2, 1, 64}}) {
      SCOPED_TRACE(std::to_string(h) + "x" + std::to_string(w) + "x" + std::to_string(c));
      check_global_pool<float>(3, h, w, c, max);
      check_global_pool<double>(3, h, w, c, max);
    }
  }
  // The negative control: the average is not the max.
  std::mt19937_64 rng(1);
  const std::vector<double> x = random_vector(2 * 9 * 4, rng), dy(2 * 4, 1.0);
  EXPECT_GT(max_rel_diff(NaiveGlobalPool(x, dy, 2, 3, 3, 4, true).y, NaiveGlobalPool(x, dy, 2, 3, 3, 4, false).y), 0.1);
}

// L = sum(r * layer(x)) in double: dx against central differences.
void check_input_gradient(Layer<double>& layer, std::size_t in_size, std::size_t out_size, int n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<double> x = random_vector(in_size * n, rng);
  const std::vector<double> r = random_vector(out_size * n, rng);
  std::vector<double> y(r.size()), dx(x.size());
  auto loss = [&] {
    layer.forward(x.data(), y.data(), n, nullptr);
    return test::dot(y.data(), r.data(), y.size());
  };
  loss();
  std::vector<double> dy = r;
  layer.backward(x.data(), y.data(), dy.data(), dx.data(), n);
  EXPECT_GT(GradientChecker{}.check(x, dx, loss, "dx", seed).largest, 0);
}

TEST(GlobalPool2D, GradientCheck) {
  GlobalPool2D<double> average(3, 4, 5, false, 2), max(3, 4, 5, true, 2);
  check_input_gradient(average, 60, 5, 2, 3);
  check_input_gradient(max, 60, 5, 2, 4);
}

// The naive zero padding of x (n, h, w, c) by (top, bottom, left, right).
std::vector<double> naive_pad(const std::vector<double>& x, int n, int h, int w, int c, std::array<int, 4> p) {
  const int oh = p[0] + h + p[1], ow = p[2] + w + p[3];
  std::vector<double> y(std::size_t(n) * oh * ow * c, 0.0);
  for (int i = 0; i < n; ++i)
    for (int r = 0; r < h; ++r)
      for (int s = 0; s < w; ++s)
        for (int k = 0; k < c; ++k)
          y[((std::size_t(i) * oh + r + p[0]) * ow + s + p[2]) * c + k] = x[((std::size_t(i) * h + r) * w + s) * c + k];
  return y;
}

template <typename T>
void check_zero_pad(int h, int w, int c, std::array<int, 4> p) {
  const int n = 2;
  std::mt19937_64 rng(7);
  std::vector<double> x = random_vector(std::size_t(n) * h * w * c, rng);
  for (double& v : x) v = double(T(v));  // exactly representable in T: padding moves values, it rounds none
  const std::vector<double> want = naive_pad(x, n, h, w, c, p);
  ZeroPad2D<T> pad(h, w, c, p);
  const std::vector<T> xt = test::cast<T>(x);
  std::vector<T> y(want.size(), T(7)), dx(x.size());
  pad.forward(xt.data(), y.data(), n);
  EXPECT_EQ(max_rel_diff(y, want), 0.0);
  // Backward is the adjoint: dx = the middle of dy; dy = the padded x gives x back.
  std::vector<T> dy(y);
  pad.backward(xt.data(), y.data(), dy.data(), dx.data(), n);
  EXPECT_EQ(max_rel_diff(dx, x), 0.0);
}

TEST(ZeroPad2D, MatchesNaiveLoopsAndGradientCheck) {
  for (const std::array<int, 4>& p : std::vector<std::array<int, 4>>{{1, 1, 1, 1}, {0, 2, 3, 0}, {0, 0, 0, 0}, {2, 1, 0, 4}}) {
    SCOPED_TRACE(std::to_string(p[0]) + " " + std::to_string(p[1]) + " " + std::to_string(p[2]) + " " + std::to_string(p[3]));
    check_zero_pad<float>(3, 5, 2, p);
    check_zero_pad<double>(4, 1, 3, p);
  }
  ZeroPad2D<double> pad(3, 2, 2, {1, 0, 2, 1});
  check_input_gradient(pad, 12, 4 * 5 * 2, 2, 9);
  // The negative control: another padding is another output.
  std::mt19937_64 rng(8);
  const std::vector<double> x = random_vector(2 * 3 * 3, rng);
  EXPECT_NE(naive_pad(x, 1, 3, 3, 2, {1, 0, 1, 0}), naive_pad(x, 1, 3, 3, 2, {0, 1, 0, 1}));
}

std::string zero_padding_json(const nlohmann::json& padding) {
  nlohmann::json config = {{"name", "pad"}};
  if (!padding.is_null()) config["padding"] = padding;
  return nlohmann::json{{"class_name", "Sequential"},
                        {"config",
                         {{"layers",
                           {{{"class_name", "InputLayer"}, {"config", {{"batch_input_shape", {nullptr, 4, 4, 1}}}}},
                            {{"class_name", "ZeroPadding2D"}, {"config", config}},
                            {{"class_name", "Flatten"}, {"config", nlohmann::json::object()}}}}}}}
      .dump();
}

TEST(ZeroPadding2D, ReadsKerasThreeFormsAndRefusesBadPadding) {
  struct Form {
    nlohmann::json padding;
    std::array<int, 4> pads;
  };
  for (const Form& f : std::vector<Form>{{nullptr, {1, 1, 1, 1}},
                                         {2, {2, 2, 2, 2}},
                                         {{1, 3}, {1, 1, 3, 3}},
                                         {{{0, 2}, {3, 1}}, {0, 2, 3, 1}},
                                         {{{0, 2}, 4}, {0, 2, 4, 4}}}) {
    SCOPED_TRACE(f.padding.dump());
    EXPECT_EQ(parse_keras_json(zero_padding_json(f.padding), "m.json").layers[0].pads, f.pads);
  }
  const std::string where = "m.json: layer 1 'pad' (ZeroPadding2D): field 'padding': ";
  const std::string form = "is not an integer, a pair (height, width) or a pair of pairs ((top, bottom), (left, right))";
  for (const auto& [padding, message] : std::vector<std::pair<nlohmann::json, std::string>>{
           {-1, "-1 is out of range (0 to 1024)"},
           {{1, 2, 3}, "[1, 2, 3] " + form},
           {{{1, 2, 3}, 1}, "[[1, 2, 3], 1] " + form},
           {"same", "\"same\" " + form},
           {{{1, -2}, {0, 0}}, "-2 is out of range (0 to 1024)"},
           {{1.5, 1}, "[1.5, 1] " + form}}) {
    SCOPED_TRACE(padding.dump());
    EXPECT_EQ(test::expect_error(Exit::usage, [&] { parse_keras_json(zero_padding_json(padding), "m.json"); }),
              where + message);
  }
}

}  // namespace
}  // namespace fmnist
