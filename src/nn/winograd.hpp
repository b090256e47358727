// Private to src/nn: Conv2D's Winograd path, F(4x4, 3x3) (Lavin and Gray, "Fast Algorithms for
// Convolutional Neural Networks", 2016), for 3x3 kernels with stride 1, no dilation and "same"
// padding between enough channels (fits). Each 6x6 input tile (B^T d B) and each 3x3 kernel
// (G g G^T) go to a 6x6 "Winograd domain" where the convolution is 36 independent GEMMs (tiles x
// in_c) . (in_c x out_c), and each 6x6 product returns to a 4x4 output tile (A^T m A): 36
// multiplications per 16 outputs and channel pair instead of 144. The backward pass is the exact
// gradient of those same steps (the transposed transforms and the 36 GEMMs transposed), so dX and
// dW save as much. Deterministic: fixed chunks of images, sums in a fixed order, so the same bytes
// for a micro-batch whichever rank runs it.
#pragma once

#include <cstddef>

#include "fmnist/layers.hpp"
#include "packed_gemm.hpp"

namespace fmnist::detail {

// n images of (h, w) pixels, and in each a window whose first pixel is (top, left).
struct Frame {
  int h, w, top, left;
};

template <typename T>
class Winograd {
 public:
  // The shapes this path takes: 3x3, stride 1, undilated, "same", both channel counts >= 32
  // (where it measured faster than the direct kernels: docs/performance.md).
  static bool fits(const ConvShape& s);
  static constexpr int kTile = 4;  // output pixels per tile side
  // requires: fits(s), max_batch >= 1. need_dx false: backward's dx is always null.
  Winograd(const ConvShape& s, int max_batch, bool need_dx);
  // y (n, out_h, out_w, out_c) = act(conv(x, kernel) + bias): bias may be null, act relu or linear.
  void forward(const T* x, const T* kernel, const T* bias, bool relu, T* y, int n);
  // dkernel += dL/dkernel; dx (if not null) = dL/dx, for dy = dL/dy (the pre-activation's).
  void backward(const T* x, const T* kernel, const T* dy, T* dx, T* dkernel, int n);

 private:
  int padded_h() const { return tiles_h_ * kTile + 2; }  // the input as the tiles read it: "same"
  int padded_w() const { return tiles_w_ * kTile + 2; }  // padding and the last tiles' overhang, zeros
  std::size_t padded_image() const { return std::size_t(padded_h()) * padded_w() * s_.in_c; }
  Frame input() const { return {s_.in_h, s_.in_w, 0, 0}; }                                 // x, dx
  Frame padded() const { return {padded_h(), padded_w(), s_.pad_top(), s_.pad_left()}; }  // the image inside
  // fn(t, img, th, tw) for each tile of n images in order: the t-th, image img's tile (th, tw).
  template <typename F>
  void for_each_tile(int n, F&& fn) const {
    std::size_t t = 0;
    for (int img = 0; img < n; ++img)
      for (int th = 0; th < tiles_h_; ++th)
        for (int tw = 0; tw < tiles_w_; ++tw) fn(t++, img, th, tw);
  }
  void transform_kernel(const T* kernel);
  void transform_input(int n);  // v_ for the first n images of xp_

  ConvShape s_;
  int tiles_h_, tiles_w_;    // 4x4 output tiles per column and row of an image
  int chunk_;                // images per pass
  std::size_t pv_, pm_;      // between two points' matrices in v_ and in m_
  AlignedVector<T> u_, du_;  // (36, in_c, out_c): the kernel and its gradient in the Winograd domain
  AlignedVector<T> u_of_;    // (3, 3, in_c, out_c): the kernel u_ holds, once u_set_
  PackedOperands<T, Eigen::ColMajor> u_fwd_;  // u_ packed for forward's products (none: Eigen's expression)
  PackedOperands<T, Eigen::RowMajor> u_dx_;   // and for dX's (none without need_dx)
  bool u_set_ = false;
  AlignedVector<T> v_;       // (36, pv_): each point's (chunk tiles, in_c): the input tiles, then dL/d them
  AlignedVector<T> m_;       // (36, pm_): each point's (chunk tiles, out_c): the products, then dL/d them
  AlignedVector<T> xp_, dxp_;  // (chunk, padded_h, padded_w, in_c): the input, zero-padded, and dL/d it
                               // (dxp_ empty without need_dx)
  AlignedVector<T> tile_;    // (4, 4, out_c): a tile of y or dy that overhangs the image
};

extern template class Winograd<float>;
extern template class Winograd<double>;

}  // namespace fmnist::detail
