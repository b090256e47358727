// The augmentation layers as Keras 2.x computes them (keras/layers/preprocessing/
// image_preprocessing.py, which calls TensorFlow's ImageProjectiveTransformV3, kernel in
// tensorflow/core/kernels/image/image_ops.h; Keras 3's keras/src/layers/preprocessing/
// image_preprocessing/ keeps the matrices and fill modes). What Keras means, and we compute:
// - Each output pixel (x, y), pixel centres at integers, reads the input at the point the inverse
//   transform gives: translation (x - dx, y - dy) with dx = width_factor draw x width (+ moves
//   right/down); rotation by angle = factor draw x 2 pi about ((w - 1) / 2, (h - 1) / 2), x' =
//   cos x - sin y + ox, y' = sin x + cos y + oy (+ turns counter-clockwise on screen); zoom
//   x' = zx x + (w - 1) / 2 (1 - zx), zx = 1 + factor draw (> 1 zooms out; width_factor None:
//   zx = zy, the same draw); RandomFlip flips left-right and/or top-bottom, each with p = 1/2.
// - Fill modes map a coordinate outside [0, len - 1] before interpolating, then clamp to it:
//   reflect "d c b a | a b c d | d c b a" (mirror about the edge of the last pixel: -1 -> 0,
//   -2 -> 1, len -> len - 1), wrap "a b c d | a b c d" (TensorFlow's formula, which divides by
//   len - 1, kept), nearest (clamp), constant (no mapping: reads outside the image give fill_value).
// - nearest rounds half away from zero (std::round); bilinear blends the four neighbours
//   floor/floor + 1 (a neighbour outside the image reads fill_value), x first, then y.
// Draws per image come from sample_hash.hpp (u0, u1 uniform in [0, 1)): flips u0 < 1/2
// (horizontal), u1 < 1/2 (vertical); a range (lo, hi) gives lo + (hi - lo) u.
#include "fmnist/augment.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>

#include "sample_hash.hpp"

namespace fmnist {
namespace {

// TensorFlow's map_coordinate for each fill mode, in float as there: a coordinate outside
// [0, len - 1] moved inside (constant leaves it, and reads outside become fill_value).
float map_coordinate(float in, std::int64_t len, FillMode mode) {
  const float last = float(len - 1);
  switch (mode) {
    case FillMode::constant: return in;
    case FillMode::nearest: return std::clamp(in, 0.0f, last);
    case FillMode::reflect:
      if (in < 0) {
        if (len <= 1) return 0;
        const std::int64_t sz2 = 2 * len;
        if (in < float(sz2)) in = float(sz2 * std::int64_t(-in / float(sz2))) + in;
        in = in < float(-len) ? in + float(sz2) : -in - 1;
      } else if (in > last) {
        if (len <= 1) return 0;
        const std::int64_t sz2 = 2 * len;
        in -= float(sz2 * std::int64_t(in / float(sz2)));
        if (in >= float(len)) in = float(sz2) - in - 1;
      }
      return std::clamp(in, 0.0f, last);
    case FillMode::wrap:
      if (in < 0) {
        if (len <= 1) return 0;
        in += float(len * (std::int64_t(-in / float(len - 1)) + 1));
      } else if (in > last) {
        if (len <= 1) return 0;
        in -= float(len * std::int64_t(in / float(len - 1)));
      }
      return std::clamp(in, 0.0f, last);
    case FillMode::count: break;
  }
  return in;
}

// One axis of one output pixel: the two input positions it reads (-1: outside, reads the fill
// value) and their weights.
struct AxisTaps {
  int at0 = -1, at1 = -1;
  float weight0 = 0, weight1 = 0;
};

AxisTaps axis_taps(float coordinate, int len, const AugmentSpec& s) {
  const float c = map_coordinate(coordinate, len, s.fill_mode);
  auto inside = [&](float v) { return v >= 0 && v < float(len) ? int(v) : -1; };
  AxisTaps taps;
  if (s.interpolation == Interpolation::nearest) {
    taps.at0 = inside(std::round(c));
    taps.weight0 = 1;
    return taps;
  }
  const float lo = std::floor(c), hi = lo + 1;
  taps.at0 = inside(lo);
  taps.at1 = inside(hi);
  taps.weight0 = hi - c;
  taps.weight1 = c - lo;
  return taps;
}

// Calls visit(ty, tx) for each output pixel in row-major order, with its row and column taps:
// the general (rotated) case, where every pixel maps on its own.
template <typename Visit>
void for_each_pixel(const ImageTransform& t, const AugmentSpec& s, int h, int w, Visit&& visit) {
  for (int oy = 0; oy < h; ++oy) {
    for (int ox = 0; ox < w; ++ox) {
      const float x = float(ox), y = float(oy);
      const AxisTaps tx = axis_taps(t.a0 * x + t.a1 * y + t.a2, w, s);
      const AxisTaps ty = axis_taps(t.b0 * x + t.b1 * y + t.b2, h, s);
      visit(ty, tx);
    }
  }
}

// Without rotation (a1 = b0 = 0: flips, translations, zooms) the map is separable: a column's
// taps are the same on every row and a row's on every column. Computed once per image, on the
// stack (no allocation).
bool separable(const ImageTransform& t) { return t.a1 == 0 && t.b0 == 0; }

struct AxesTaps {
  std::array<AxisTaps, kMaxWindow> rows, columns;
};

void separable_taps(const ImageTransform& t, const AugmentSpec& s, int h, int w, AxesTaps& taps) {
  for (int ox = 0; ox < w; ++ox) taps.columns[std::size_t(ox)] = axis_taps(t.a0 * float(ox) + t.a2, w, s);
  for (int oy = 0; oy < h; ++oy) taps.rows[std::size_t(oy)] = axis_taps(t.b1 * float(oy) + t.b2, h, s);
}

// The separable map in two passes, in TensorFlow's order (x first, then y): tmp (h + 1, w, c)
// holds every input row resampled along x, and row h the fill value's (read for rows outside).
template <typename T>
void warp_separable(const ImageTransform& t, const AugmentSpec& s, const std::array<int, 3>& shape, const T* x, T* y,
                    T* tmp) {
  const int h = shape[0], w = shape[1], c = shape[2];
  const std::size_t row = std::size_t(w) * c;
  const T fill = T(s.fill_value);
  AxesTaps taps;
  separable_taps(t, s, h, w, taps);
  for (int r = 0; r <= h; ++r) {
    const T* in = x + std::size_t(r) * row;
    T* out = tmp + std::size_t(r) * row;
    for (int ox = 0; ox < w; ++ox, out += c) {
      const AxisTaps& tx = taps.columns[std::size_t(ox)];
      const T* p0 = r < h && tx.at0 >= 0 ? in + std::size_t(tx.at0) * c : nullptr;
      const T* p1 = r < h && tx.at1 >= 0 ? in + std::size_t(tx.at1) * c : nullptr;
      for (int k = 0; k < c; ++k) out[k] = T(tx.weight0) * (p0 ? p0[k] : fill) + T(tx.weight1) * (p1 ? p1[k] : fill);
    }
  }
  for (int oy = 0; oy < h; ++oy, y += row) {
    const AxisTaps& ty = taps.rows[std::size_t(oy)];
    const T* r0 = tmp + std::size_t(ty.at0 >= 0 ? ty.at0 : h) * row;
    const T* r1 = tmp + std::size_t(ty.at1 >= 0 ? ty.at1 : h) * row;
    const T w0 = T(ty.weight0), w1 = T(ty.weight1);
    for (std::size_t j = 0; j < row; ++j) y[j] = w0 * r0[j] + w1 * r1[j];
  }
}

// Its transpose: dtmp (h, w, c) = the y pass transposed, then dx = the x pass transposed.
template <typename T>
void warp_separable_backward(const ImageTransform& t, const AugmentSpec& s, const std::array<int, 3>& shape,
                             const T* dy, T* dx, T* dtmp) {
  const int h = shape[0], w = shape[1], c = shape[2];
  const std::size_t row = std::size_t(w) * c;
  AxesTaps taps;
  separable_taps(t, s, h, w, taps);
  std::fill(dtmp, dtmp + std::size_t(h) * row, T(0));
  for (int oy = 0; oy < h; ++oy, dy += row) {
    const AxisTaps& ty = taps.rows[std::size_t(oy)];
    for (const auto& [at, weight] : {std::pair{ty.at0, ty.weight0}, std::pair{ty.at1, ty.weight1}}) {
      if (at < 0 || weight == 0) continue;
      T* d = dtmp + std::size_t(at) * row;
      for (std::size_t j = 0; j < row; ++j) d[j] += T(weight) * dy[j];
    }
  }
  std::fill(dx, dx + std::size_t(h) * row, T(0));
  for (int r = 0; r < h; ++r) {
    const T* g = dtmp + std::size_t(r) * row;
    T* d = dx + std::size_t(r) * row;
    for (int ox = 0; ox < w; ++ox, g += c) {
      const AxisTaps& tx = taps.columns[std::size_t(ox)];
      for (const auto& [at, weight] : {std::pair{tx.at0, tx.weight0}, std::pair{tx.at1, tx.weight1}}) {
        if (at < 0 || weight == 0) continue;
        for (int k = 0; k < c; ++k) d[std::size_t(at) * c + k] += T(weight) * g[k];
      }
    }
  }
}

double lerp(const std::array<double, 2>& range, double u) { return range[0] + (range[1] - range[0]) * u; }

}  // namespace

AugmentDraw draw_augment(const LayerSpec& layer, const DropoutContext& at, std::int64_t sample, std::size_t layer_index,
                         int h, int w) {
  const std::uint64_t key = sample_hash::sample_key(at, sample, layer_index);
  const double u0 = sample_hash::uniform(key, 0), u1 = sample_hash::uniform(key, 1);
  const AugmentSpec& a = layer.augment;
  AugmentDraw d;
  switch (layer.kind) {
    case LayerKind::random_flip:
      d.flip_horizontal = a.mode != FlipMode::vertical && u0 < 0.5;
      d.flip_vertical = a.mode != FlipMode::horizontal && u1 < 0.5;
      break;
    case LayerKind::random_translation:
      d.translate_y = lerp(a.height, u0) * h;
      d.translate_x = lerp(a.width, u1) * w;
      break;
    case LayerKind::random_rotation: d.angle = lerp(a.height, u0) * 2 * std::numbers::pi; break;
    case LayerKind::random_zoom:
      d.zoom_y = 1 + lerp(a.height, u0);
      d.zoom_x = a.width_is_height ? d.zoom_y : 1 + lerp(a.width, u1);
      break;
    default: throw std::invalid_argument("draw_augment: not an augmentation layer");
  }
  return d;
}

ImageTransform transform_of(const AugmentDraw& d, int h, int w) {
  const double wl = w - 1, hl = h - 1;  // the last column and row
  ImageTransform t;
  if (d.flip_horizontal) t.a0 = -1, t.a2 = float(wl);
  if (d.flip_vertical) t.b1 = -1, t.b2 = float(hl);
  if (d.translate_x != 0 || d.translate_y != 0) t.a2 += float(-d.translate_x), t.b2 += float(-d.translate_y);
  if (d.angle != 0) {
    const double c = std::cos(d.angle), s = std::sin(d.angle);
    t = {float(c), float(-s), float((wl - (c * wl - s * hl)) / 2), float(s), float(c), float((hl - (s * wl + c * hl)) / 2)};
  }
  if (d.zoom_x != 1 || d.zoom_y != 1) {
    t.a0 = float(d.zoom_x), t.a2 = float(wl / 2 * (1 - d.zoom_x));
    t.b1 = float(d.zoom_y), t.b2 = float(hl / 2 * (1 - d.zoom_y));
  }
  return t;
}

std::size_t warp_scratch_size(const std::array<int, 3>& shape) {
  return std::size_t(shape[0] + 1) * shape[1] * shape[2];
}

template <typename T>
void warp_image(const ImageTransform& t, const AugmentSpec& s, const std::array<int, 3>& shape, const T* x, T* y,
                T* scratch) {
  const int w = shape[1], c = shape[2];
  if (shape[0] > kMaxWindow || w > kMaxWindow) throw std::invalid_argument("warp_image: image larger than kMaxWindow");
  if (separable(t)) return warp_separable(t, s, shape, x, y, scratch);
  const T fill = T(s.fill_value);
  for_each_pixel(t, s, shape[0], w, [&](const AxisTaps& ty, const AxisTaps& tx) {
    auto read = [&](int row, int col, int k) { return row < 0 || col < 0 ? fill : x[(std::size_t(row) * w + col) * c + k]; };
    for (int k = 0; k < c; ++k) {
      const T top = T(tx.weight0) * read(ty.at0, tx.at0, k) + T(tx.weight1) * read(ty.at0, tx.at1, k);
      const T bottom = T(tx.weight0) * read(ty.at1, tx.at0, k) + T(tx.weight1) * read(ty.at1, tx.at1, k);
      y[k] = T(ty.weight0) * top + T(ty.weight1) * bottom;
    }
    y += c;
  });
}

template <typename T>
void warp_image_backward(const ImageTransform& t, const AugmentSpec& s, const std::array<int, 3>& shape, const T* dy,
                         T* dx, T* scratch) {
  const int w = shape[1], c = shape[2];
  if (shape[0] > kMaxWindow || w > kMaxWindow) throw std::invalid_argument("warp_image: image larger than kMaxWindow");
  if (separable(t)) return warp_separable_backward(t, s, shape, dy, dx, scratch);
  std::fill(dx, dx + std::size_t(shape[0]) * w * c, T(0));
  for_each_pixel(t, s, shape[0], w, [&](const AxisTaps& ty, const AxisTaps& tx) {
    auto add = [&](int row, int col, T weight) {
      if (row < 0 || col < 0 || weight == T(0)) return;
      T* d = dx + (std::size_t(row) * w + col) * c;
      for (int k = 0; k < c; ++k) d[k] += weight * dy[k];
    };
    add(ty.at0, tx.at0, T(ty.weight0) * T(tx.weight0));
    add(ty.at0, tx.at1, T(ty.weight0) * T(tx.weight1));
    add(ty.at1, tx.at0, T(ty.weight1) * T(tx.weight0));
    add(ty.at1, tx.at1, T(ty.weight1) * T(tx.weight1));
    dy += c;
  });
}

template <typename T>
Augment<T>::Augment(const LayerSpec& spec, const std::array<int, 3>& shape, std::size_t layer, int max_batch)
    : spec_(spec),
      shape_(shape),
      layer_(layer),
      max_batch_(max_batch),
      transforms_(std::size_t(std::max(max_batch, 0))),
      scratch_(warp_scratch_size(shape)) {
  if (!is_augmentation(spec.kind) || shape[0] < 1 || shape[1] < 1 || shape[2] < 1 || max_batch < 1)
    throw std::invalid_argument("Augment: not an augmentation layer, or a bad shape");
}

template <typename T>
void Augment<T>::forward(const T* x, T* y, int n, const DropoutContext* train) {
  if (n < 0 || n > max_batch_) throw std::invalid_argument("Augment::forward: n > max_batch");
  const std::size_t size = std::size_t(shape_[0]) * shape_[1] * shape_[2];
  trained_ = train != nullptr;
  if (!trained_) {
    std::copy(x, x + size * std::size_t(n), y);
    return;
  }
  for (int i = 0; i < n; ++i) {
    const AugmentDraw d = draw_augment(spec_, *train, train->first_sample + i, layer_, shape_[0], shape_[1]);
    transforms_[std::size_t(i)] = transform_of(d, shape_[0], shape_[1]);
    warp_image(transforms_[std::size_t(i)], spec_.augment, shape_, x + size * i, y + size * i, scratch_.data());
  }
}

template <typename T>
void Augment<T>::backward(const T*, const T*, T* dy, T* dx, int n) {
  if (n < 0 || n > max_batch_) throw std::invalid_argument("Augment::backward: n > max_batch");
  if (dx == nullptr) return;
  const std::size_t size = std::size_t(shape_[0]) * shape_[1] * shape_[2];
  if (!trained_) {
    std::copy(dy, dy + size * std::size_t(n), dx);
    return;
  }
  for (int i = 0; i < n; ++i)
    warp_image_backward(transforms_[std::size_t(i)], spec_.augment, shape_, dy + size * i, dx + size * i,
                        scratch_.data());
}

template void warp_image<float>(const ImageTransform&, const AugmentSpec&, const std::array<int, 3>&, const float*,
                                float*, float*);
template void warp_image<double>(const ImageTransform&, const AugmentSpec&, const std::array<int, 3>&, const double*,
                                 double*, double*);
template void warp_image_backward<float>(const ImageTransform&, const AugmentSpec&, const std::array<int, 3>&,
                                         const float*, float*, float*);
template void warp_image_backward<double>(const ImageTransform&, const AugmentSpec&, const std::array<int, 3>&,
                                          const double*, double*, double*);
template class Augment<float>;
template class Augment<double>;

}  // namespace fmnist
