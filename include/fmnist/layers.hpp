// The layers of the CNN, one forward/backward pair each, NHWC, templated on the scalar
// (float for training, double for the gradient checks). Layers hold views into the model's
// parameter and gradient arenas and own the workspaces they need, sized once for max_batch
// images: forward and backward never allocate. Backward ADDS parameter gradients.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "fmnist/model.hpp"

namespace fmnist {

// Conv2D 3x3, stride 1, valid, cross-correlation (Keras), with fused bias and ReLU.
struct ConvShape {
  int in_h = 0, in_w = 0, in_c = 0;  // input (N, in_h, in_w, in_c)
  int out_c = 0;                     // output (N, in_h - 2, in_w - 2, out_c)
  int out_h() const { return in_h - 2; }
  int out_w() const { return in_w - 2; }
  std::size_t in_size() const { return std::size_t(in_h) * in_w * in_c; }     // per image
  std::size_t out_size() const { return std::size_t(out_h()) * out_w() * out_c; }  // per image
  std::size_t kernel_size() const { return std::size_t(9) * in_c * out_c; }
};

template <typename T>
class Conv2D {
 public:
  // requires: in_h, in_w >= 3, in_c, out_c >= 1, max_batch >= 1;
  //           kernel/dkernel (3, 3, in_c, out_c) and bias/dbias (out_c) outlive the layer.
  // need_dx: false for the first layer (its input gradient is never used, so it is not computed).
  Conv2D(ConvShape shape, int max_batch, bool need_dx, const T* kernel, const T* bias, T* dkernel,
         T* dbias);

  // requires: 0 <= n <= max_batch; x (n, in_h, in_w, in_c); y (n, out_h, out_w, out_c).
  // ensures:  y = relu(conv(x, kernel) + bias).
  void forward(const T* x, T* y, int n);

  // requires: forward(x, y, n) was this layer's last forward, with the same x, y and n still intact;
  //           dy (n, out_h, out_w, out_c) is dL/dy; it is overwritten with dL/d(pre-activation).
  // ensures:  dkernel += dL/dkernel, dbias += dL/dbias; if need_dx, dx (n, in_h, in_w, in_c) = dL/dx
  //           (overwritten), else dx is ignored and may be null.
  void backward(const T* x, const T* y, T* dy, T* dx, int n);

  const ConvShape& shape() const { return shape_; }

 private:
  ConvShape shape_;
  int max_batch_;
  bool need_dx_;
  const T* kernel_;  // (3, 3, in_c, out_c) == row-major (9 * in_c, out_c)
  const T* bias_;    // (out_c)
  T* dkernel_;       // (3, 3, in_c, out_c)
  T* dbias_;         // (out_c)
  std::vector<std::uint32_t> pixels_;  // (out_h * out_w): output pixels' offsets, row-major
  std::vector<T> col_;   // (chunk * out_h * out_w, 9 * in_c): im2col of a chunk of x
  std::vector<T> dcol_;  // (chunk * out_h * out_w, 9 * in_c): dL/dcol for a chunk of images
};

// MaxPooling2D 2x2, stride 2, valid: out = floor(in / 2); the odd last row/column is dropped.
template <typename T>
class MaxPool2D {
 public:
  // The recorded window position 2 * dh + dw, as wide as T so that pooling vectorizes cleanly.
  using Index = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;

  // requires: in_h, in_w >= 2, channels >= 1, max_batch >= 1.
  MaxPool2D(int in_h, int in_w, int channels, int max_batch);

  // requires: 0 <= n <= max_batch; x (n, in_h, in_w, c); y (n, in_h / 2, in_w / 2, c).
  // ensures:  y = max over each 2x2 window; the window position of the max (first one on ties,
  //           in row-major window order) is recorded for backward.
  void forward(const T* x, T* y, int n);

  // requires: forward with the same n was this layer's last forward; dy (n, out_h, out_w, c).
  // ensures:  dx (n, in_h, in_w, c) = dy routed to each window's recorded max, 0 elsewhere.
  void backward(const T* dy, T* dx, int n);

  int out_h() const { return in_h_ / 2; }
  int out_w() const { return in_w_ / 2; }

 private:
  int in_h_, in_w_, channels_, max_batch_;
  std::vector<Index> argmax_;  // (max_batch, out_h, out_w, c): 2 * dh + dw in the window
};

// Conv2D 3x3 (bias, ReLU) fused with MaxPooling2D 2x2 stride 2: the conv2d -> max_pooling2d pairs.
// Only the convolution outputs that some pooling window reads are computed (conv2d_1's 11x11
// output loses its last row and column to the floor: 100 of 121 pixels), and the full-size
// activation is never stored: forward keeps the pooled output and the window argmax, backward
// rebuilds the sparse gradient per chunk. Conv2D followed by MaxPool2D, up to float rounding.
template <typename T>
class Conv2DPool {
 public:
  using Index = typename MaxPool2D<T>::Index;

  // requires: as Conv2D, and in_h, in_w >= 4; need_dx false for the first-layer shape
  //           (in_c 1, out_c 32), whose direct kernel computes no input gradient.
  Conv2DPool(ConvShape shape, int max_batch, bool need_dx, const T* kernel, const T* bias,
             T* dkernel, T* dbias);

  // requires: 0 <= n <= max_batch; x (n, in_h, in_w, in_c); y (n, pool_h, pool_w, out_c).
  // ensures:  y = maxpool(relu(conv(x, kernel) + bias)); each window's argmax (first on ties,
  //           over the pre-activations) is recorded for backward.
  void forward(const T* x, T* y, int n);

  // requires: forward(x, y, n) was this layer's last forward, x and y intact; dy (n, pool_h,
  //           pool_w, out_c) is dL/dy (not modified).
  // ensures:  dkernel += dL/dkernel, dbias += dL/dbias; if need_dx, dx (n, in_h, in_w, in_c) =
  //           dL/dx (overwritten), else dx is ignored and may be null.
  void backward(const T* x, const T* y, const T* dy, T* dx, int n);

  int pool_h() const { return shape_.out_h() / 2; }
  int pool_w() const { return shape_.out_w() / 2; }
  const ConvShape& shape() const { return shape_; }

 private:
  ConvShape shape_;
  int max_batch_;
  bool need_dx_;
  const T* kernel_;  // (3, 3, in_c, out_c) == row-major (9 * in_c, out_c)
  const T* bias_;    // (out_c)
  T* dkernel_;       // (3, 3, in_c, out_c)
  T* dbias_;         // (out_c)
  std::vector<Index> argmax_;  // (max_batch, pool_h, pool_w, out_c): 2 * dh + dw in the window
  // The GEMM path (any shape):
  std::vector<std::uint32_t> pixels_;  // (pool_h * pool_w * 4): the pooled pixels, window by window
  std::vector<T> col_;   // (chunk * pool_h * pool_w * 4, 9 * in_c): im2col, window-major rows
  std::vector<T> z_;     // (chunk * pool_h * pool_w * 4, out_c): conv output / its gradient
  std::vector<T> dcol_;  // (chunk * pool_h * pool_w * 4, 9 * in_c): dL/dcol
  // The sparse path (in_c 32, out_c 64: conv2d_1), which uses only each window's argmax pixel:
  std::vector<T> wt_;                 // (out_c, 9 * in_c): the kernel transposed
  std::vector<T> dwt_;                // (out_c, 9 * in_c): dL/dkernel transposed, per backward
  std::vector<std::uint32_t> entry_offset_;  // (out_c, chunk windows): argmax pixel's offset in x
  std::vector<T> entry_g_;                   // (out_c, chunk windows): its nonzero gradient
};

// Dense: y = x . kernel + bias, optionally followed by ReLU.
template <typename T>
class Dense {
 public:
  // requires: in, out >= 1; kernel/dkernel (in, out), bias/dbias (out) outlive the layer.
  Dense(int in, int out, bool relu, const T* kernel, const T* bias, T* dkernel, T* dbias);

  // requires: x (n, in); y (n, out).   ensures: y = [relu](x . kernel + bias).
  void forward(const T* x, T* y, int n);

  // requires: forward(x, y, n) was this layer's last forward; dy (n, out) is dL/dy, overwritten
  //           with dL/d(pre-activation) when relu.
  // ensures:  dkernel += x^T . dy, dbias += colsum(dy); if dx is not null, dx (n, in) = dy . kernel^T.
  void backward(const T* x, const T* y, T* dy, T* dx, int n);

 private:
  int in_, out_;
  bool relu_;
  const T* kernel_;  // (in, out)
  const T* bias_;    // (out)
  T* dkernel_;       // (in, out)
  T* dbias_;         // (out)
};

// Softmax cross-entropy from logits (log-sum-exp), summed over the samples.
// requires: logits (n, classes), labels (n) in [0, classes).
// ensures:  loss_sum = sum_i (logsumexp(logits_i) - logits_i[label_i]);
//           correct = #{i : argmax(logits_i) == label_i}, ties resolved to the first index.
template <typename T>
BatchStats softmax_xent_forward(const T* logits, const std::uint8_t* labels, int n, int classes);

// requires: as softmax_xent_forward; dlogits (n, classes).
// ensures:  dlogits = softmax(logits) - onehot(labels): the gradient of the loss SUM (no 1/n).
template <typename T>
void softmax_xent_backward(const T* logits, const std::uint8_t* labels, int n, int classes,
                           T* dlogits);

extern template class Conv2D<float>;
extern template class Conv2D<double>;
extern template class MaxPool2D<float>;
extern template class MaxPool2D<double>;
extern template class Conv2DPool<float>;
extern template class Conv2DPool<double>;
extern template class Dense<float>;
extern template class Dense<double>;

}  // namespace fmnist
