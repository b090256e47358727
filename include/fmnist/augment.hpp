// The augmentation layers (Keras's RandomFlip, RandomTranslation, RandomRotation, RandomZoom):
// in training each image gets its own random geometric transform, drawn from (seed, step, the
// image's position in the global batch, layer) like Dropout's masks; in evaluation they are the
// identity. src/nn/augment.cpp spells out Keras's meaning (centre, fill modes, interpolation).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fmnist/layers.hpp"
#include "fmnist/model_spec.hpp"

namespace fmnist {

// What an augmentation layer does to one image (the fields its kind draws; the rest stay neutral).
struct AugmentDraw {
  bool flip_horizontal = false, flip_vertical = false;  // RandomFlip: left-right, top-bottom
  double translate_y = 0, translate_x = 0;  // RandomTranslation, pixels (factor x height, width): + moves down, right
  double angle = 0;                          // RandomRotation, radians (factor x 2 pi): + turns counter-clockwise
  double zoom_y = 1, zoom_x = 1;             // RandomZoom: 1 + factor; above 1 zooms out, below 1 zooms in
};

// Keras's projective transform without perspective: output pixel (x, y) reads the input at
// (a0 x + a1 y + a2, b0 x + b1 y + b2), pixel centres at integer coordinates. float, as TensorFlow.
struct ImageTransform {
  float a0 = 1, a1 = 0, a2 = 0;
  float b0 = 0, b1 = 1, b2 = 0;
};

// requires: is_augmentation(layer.kind); h, w >= 1.
// ensures:  the draw of the image at global batch position `sample`, a function of (at.seed,
//           at.step, sample, layer_index) only; each value uniform in its factor's range.
AugmentDraw draw_augment(const LayerSpec& layer, const DropoutContext& at, std::int64_t sample, std::size_t layer_index,
                         int h, int w);

// The transform of a draw on an (h, w) image: Keras's get_translation_matrix, get_rotation_matrix
// (about ((w - 1) / 2, (h - 1) / 2)), get_zoom_matrix (same centre); the flips as x -> w - 1 - x
// and y -> h - 1 - y. The fields of one kind compose as flip, then the rest (one kind per layer).
ImageTransform transform_of(const AugmentDraw& draw, int h, int w);

// Values of scratch that warp_image and warp_image_backward need for an image of `shape`: (h + 1) w c.
std::size_t warp_scratch_size(const std::array<int, 3>& shape);

// y (h, w, c) = x (h, w, c) resampled through t with the layer's fill mode, fill value and
// interpolation, as TensorFlow's ImageProjectiveTransformV3 computes it. h, w <= kMaxWindow;
// scratch: warp_scratch_size(shape) values, overwritten.
template <typename T>
void warp_image(const ImageTransform& t, const AugmentSpec& settings, const std::array<int, 3>& shape, const T* x, T* y,
                T* scratch);
// dx (h, w, c) = A^T dy, where y = A x + (fill terms) is warp_image's map: overwritten.
template <typename T>
void warp_image_backward(const ImageTransform& t, const AugmentSpec& settings, const std::array<int, 3>& shape,
                         const T* dy, T* dx, T* scratch);

// The layer: per image, draw_augment, transform_of and warp_image in training; y = x in evaluation.
template <typename T>
class Augment final : public Layer<T> {
 public:
  // requires: is_augmentation(spec.kind); shape (h, w, c) all >= 1; layer = the spec's layer index.
  Augment(const LayerSpec& spec, const std::array<int, 3>& shape, std::size_t layer, int max_batch);
  void forward(const T* x, T* y, int n, const DropoutContext* train) override;
  // dx = the transpose of each image's last transform applied to dy (dy itself in evaluation).
  void backward(const T* x, const T* y, T* dy, T* dx, int n) override;

 private:
  LayerSpec spec_;
  std::array<int, 3> shape_;
  std::size_t layer_;
  int max_batch_;
  bool trained_ = false;                      // the last forward transformed the images
  std::vector<ImageTransform> transforms_;    // (max_batch): each image's transform in the last forward
  std::vector<T> scratch_;                    // (h + 1, w, c): warp_image's
};

extern template class Augment<float>;
extern template class Augment<double>;

}  // namespace fmnist
