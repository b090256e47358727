// The layers, NHWC, templated on the scalar (float for training, double for the gradient checks),
// all behind one forward/backward contract (Layer<T>; the merge layers take several inputs).
// Layers hold views into the model's parameter and gradient arenas and own the workspaces they
// need, sized once for max_batch images: forward and backward never allocate. Backward ADDS
// parameter gradients. Flatten has no layer object: NHWC row-major already is Keras's flat order,
// so the model aliases its buffers.
#pragma once

#include <cstddef>
#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <new>
#include <span>
#include <type_traits>
#include <vector>

#include "fmnist/model_spec.hpp"

namespace fmnist {

// An allocator whose blocks start on a cache line (64 bytes), for the buffers kernels read as
// vectors: an unaligned vector load that straddles two lines costs a quarter of the sparse
// kernels' speed. Results never depend on it (every sum runs in a fixed order).
template <typename T>
struct CacheAligned {
  using value_type = T;
  static constexpr std::align_val_t kAlign{64};
  CacheAligned() = default;
  template <typename U>
  CacheAligned(const CacheAligned<U>&) {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlign)); }
  void deallocate(T* p, std::size_t) { ::operator delete(p, kAlign); }
  template <typename U>
  bool operator==(const CacheAligned<U>&) const { return true; }
};
template <typename T>
using AlignedVector = std::vector<T, CacheAligned<T>>;

namespace detail {
template <typename T>
class Winograd;  // Conv2D's Winograd path (src/nn/winograd.hpp)
}  // namespace detail

// Sums over the samples of a batch (not means): ranks add them with one allreduce.
struct BatchStats {
  double loss_sum = 0;       // sum of softmax cross-entropy losses
  std::int64_t correct = 0;  // argmax(logits) == label
};

// Where a training batch sits (docs/computing.md, Dropout): a sample's Dropout mask depends
// only on (seed, step, the sample's position in the global batch, the layer's index).
struct DropoutContext {
  std::uint64_t seed = 0;          // --seed
  std::int64_t step = 0;           // the optimizer step being computed, from 0
  std::int64_t first_sample = 0;   // position in the global batch of the batch's first image
};

// What a layer's backward reads of its last forward's buffers, so that the model may reuse the
// others' memory once forward is done with them (buffer_plan.hpp).
struct BackwardReads {
  bool input = true;   // x
  bool output = true;  // y
};

// A weighted layer's kernel and bias and their gradients: views into the model's arenas, which
// outlive the layer (bias and dbias null without a bias).
template <typename T>
struct WeightViews {
  const T* kernel;
  const T* bias;
  T* dkernel;
  T* dbias;
};

template <typename T>
class Layer {
 public:
  virtual ~Layer() = default;

  // requires: 0 <= n <= max_batch; x (n, in...) and y (n, out...) in the plan's shapes;
  //           train: null for evaluation, else where the batch sits (only Dropout reads it).
  // ensures:  y = the layer applied to x; what backward needs is recorded.
  virtual void forward(const T* x, T* y, int n, const DropoutContext* train) = 0;

  // requires: forward(x, y, n, ...) was this layer's last forward, with x and y still intact
  //           (those backward_reads() names; the others may hold anything);
  //           dy (n, out...) = dL/dy, which backward may overwrite (it is scratch).
  // ensures:  parameter gradients += dL/dparameters; if dx is not null, dx (n, in...) = dL/dx
  //           (overwritten); a null dx (the model's input) skips the input gradient.
  virtual void backward(const T* x, const T* y, T* dy, T* dx, int n) = 0;

  // The same contract for a layer of several inputs (a merge layer overrides these two): x and
  // dx hold one pointer per input, in the call's order, and dx[k] may be null. The model calls
  // these; the defaults hand the one input to forward and backward.
  virtual void forward_inputs(std::span<const T* const> x, T* y, int n, const DropoutContext* train) {
    forward(x[0], y, n, train);
  }
  virtual void backward_inputs(std::span<const T* const> x, const T* y, T* dy, std::span<T* const> dx, int n) {
    backward(x[0], y, dy, dx[0], n);
  }
  // Which of x and y backward reads (both unless the layer says otherwise).
  virtual BackwardReads backward_reads() const { return {}; }
};

// The geometry of a window layer (convolution or pooling) over an (in_h, in_w, in_c) input:
// TensorFlow's output sizes and "same" padding (the odd extra pixel bottom/right). A dilated
// kernel's taps lie dilation apart: it spans (kernel - 1) * dilation + 1 pixels, and the output
// sizes and padding are those of a kernel of that span (TensorFlow's rule).
struct ConvShape {
  int in_h = 0, in_w = 0, in_c = 0;  // input (N, in_h, in_w, in_c)
  int out_c = 0;                     // output channels (a pooling layer: in_c)
  int kernel_h = 3, kernel_w = 3;    // kernel or pool window
  int stride_h = 1, stride_w = 1;
  Padding padding = Padding::valid;
  int dilation_h = 1, dilation_w = 1;  // a convolution's dilation_rate (pooling: 1)
  int span_h() const { return (kernel_h - 1) * dilation_h + 1; }  // pixels one kernel covers
  int span_w() const { return (kernel_w - 1) * dilation_w + 1; }
  int out_h() const { return window_output_size(in_h, span_h(), stride_h, padding); }
  int out_w() const { return window_output_size(in_w, span_w(), stride_w, padding); }
  int pad_top() const { return window_pad_before(in_h, span_h(), stride_h, padding); }
  int pad_left() const { return window_pad_before(in_w, span_w(), stride_w, padding); }
  std::size_t patch() const { return std::size_t(kernel_h) * kernel_w * in_c; }  // one im2col row
  std::size_t in_size() const { return std::size_t(in_h) * in_w * in_c; }           // per image
  std::size_t out_size() const { return std::size_t(out_h()) * out_w() * out_c; }   // per image
  std::size_t kernel_size() const { return patch() * out_c; }
};

// Conv2D, cross-correlation (Keras), any kernel, stride, padding and dilation, with bias
// (optional) and relu or linear fused: forward straight from the input in register blocks,
// backward im2col + Eigen GEMM per chunk of images (a dilated kernel reads its taps as runs of
// in_c values: direct_conv.hpp), except with stride 1 and "same" padding (odd spans), where dX is
// the forward's direct kernel run on dy with the kernel flipped and transposed and dW a direct sum.
template <typename T>
class Conv2D final : public Layer<T> {
 public:
  // requires: the shape's output is not empty, max_batch >= 1; activation relu or linear;
  //           kernel/dkernel (kh, kw, in_c, out_c) and bias/dbias (out_c) outlive the layer
  //           (bias and dbias null without bias). need_dx false: backward is never asked for dx.
  Conv2D(ConvShape shape, Activation activation, int max_batch, bool need_dx, const T* kernel, const T* bias,
         T* dkernel, T* dbias);
  // x (n, in_h, in_w, in_c) -> y (n, out_h, out_w, out_c) = act(conv(x, kernel) + bias).
  void forward(const T* x, T* y, int n, const DropoutContext* train = nullptr) override;
  // dy is overwritten with dL/d(pre-activation).
  void backward(const T* x, const T* y, T* dy, T* dx, int n) override;
  BackwardReads backward_reads() const override { return {true, relu_}; }
  const ConvShape& shape() const { return shape_; }
  ~Conv2D() override;

 private:
  static bool direct_dx_fits(const ConvShape& s);
  void setup_direct_dx();
  void flip_kernel();
  void direct_dinput(const T* dy, T* dx, int n);

  ConvShape shape_;
  bool relu_;
  int max_batch_;
  bool need_dx_;
  // kernel (kh, kw, in_c, out_c) == row-major (patch, out_c), bias (out_c) or null; their gradients alike
  WeightViews<T> w_;
  std::vector<std::uint32_t> bases_;  // (out_h * out_w): each output pixel's patch offset in the (padded) image
  AlignedVector<T> z_;          // (out_h * out_w, out_c rounded up to the lanes): an image's sums, if out_c needs it
  AlignedVector<T> packed_;     // (patch, out_c rounded up): the kernel by channel blocks (direct_conv.hpp)
  AlignedVector<T> xp_, dxp_;   // (chunk, padded image): "same" padding's input copy and its gradient
  AlignedVector<T> col_;        // (chunk * out_h * out_w, patch): im2col of a chunk of x (GEMM dW)
  AlignedVector<T> dcol_;       // (chunk * out_h * out_w, patch): dL/dcol for a chunk of images
  // The direct dX (stride 1, "same" padding, odd spans): dX is the convolution of dy by the kernel
  // flipped and transposed, "same" again, through the forward's kernel (conv2d.cpp).
  bool direct_dx_ = false;
  bool direct_dw_ = false;              // the same geometry, out_c a multiple of float's lanes: dW direct too
  ConvShape dx_shape_;                  // dy (out_h, out_w, out_c) -> dx (in_h, in_w, in_c)
  std::vector<std::uint32_t> dx_bases_;  // (in_h * in_w): each dx pixel's patch offset in the padded dy
  AlignedVector<T> flipped_;            // (kh, kw, out_c, in_c): the kernel flipped and transposed
  AlignedVector<T> dx_packed_;          // (kh * kw * out_c, in_c rounded up): flipped_ by channel blocks
  AlignedVector<T> dyp_;                // (padded dy image): one image of dy with its zero border
  AlignedVector<T> dz_;                 // (in_h * in_w, in_c rounded up): an image's dx, if in_c needs it
  // 3x3, stride 1, "same", >= 32 channels each side: Winograd F(4x4, 3x3) instead of all the above.
  std::unique_ptr<detail::Winograd<T>> winograd_;
};

// DepthwiseConv2D (Keras), any kernel, stride, padding and dilation: input channel c convolved with
// its own depth_multiplier kernels gives output channels c * depth_multiplier + m, with bias
// (optional) and relu or linear fused. Memory-bound: it vectorizes over the channels, contiguous in
// NHWC, reading each image from a padded copy whose channels are repeated depth_multiplier times and
// rounded up to the vector lanes, so that every tap reads whole vectors (depthwise_conv2d.cpp).
template <typename T>
class DepthwiseConv2D final : public Layer<T> {
 public:
  // requires: shape.out_c == shape.in_c * depth_multiplier, the output is not empty, max_batch >= 1;
  //           activation relu or linear; kernel/dkernel (kh, kw, in_c, depth_multiplier) and
  //           bias/dbias (out_c) outlive the layer (bias and dbias null without bias).
  DepthwiseConv2D(ConvShape shape, int depth_multiplier, Activation activation, int max_batch, bool need_dx,
                  const T* kernel, const T* bias, T* dkernel, T* dbias);
  // x (n, in_h, in_w, in_c) -> y (n, out_h, out_w, in_c * depth_multiplier) = act(depthwise(x) + bias).
  void forward(const T* x, T* y, int n, const DropoutContext* train = nullptr) override;
  // dy is overwritten with dL/d(pre-activation).
  void backward(const T* x, const T* y, T* dy, T* dx, int n) override;

 private:
  // dx (in_h, in_w, in_c) of one image from its dz (out_h * out_w, out_c).
  void input_gradient(const T* dz, T* dx);

  ConvShape shape_;
  int multiplier_;
  bool relu_;
  int max_batch_;
  bool need_dx_;
  // kernel (kh, kw, in_c, depth_multiplier) == row-major (taps, out_c), bias (out_c) or null; their gradients alike
  WeightViews<T> w_;
  std::size_t cp_;                    // out_c rounded up to the lanes: the channels of a pixel in xe_
  std::vector<std::uint32_t> bases_;  // (out_h * out_w): each output pixel's first value in xe_
  std::vector<std::uint32_t> taps_;   // (kh * kw): each tap's offset from its pixel's base in xe_
  AlignedVector<T> packed_;   // (kh * kw, cp_): the kernel, zeros beyond out_c
  AlignedVector<T> bias_p_;   // (cp_): the bias, zeros beyond out_c (and without bias)
  AlignedVector<T> dpacked_;  // (kh * kw, cp_): dL/dkernel summed over a backward's images
  AlignedVector<T> xe_;       // (padded h, padded w, cp_): one image, channels repeated, zeros around
  AlignedVector<T> z_;        // (out_h * out_w, cp_): one image's sums, or its dL/dz, if out_c needs it
  // dX with strides 1 is the forward kernel again, its taps reversed, over dL/dz padded by the
  // kernel's span - 1 all around (dzp_); with strides, each output pixel's gradient is scattered.
  std::vector<std::uint32_t> dbases_;  // (pixels of xe_ holding the image): their first value in dzp_
  std::vector<std::uint32_t> dtaps_;   // (kh * kw): the reversed taps' offsets in dzp_
  AlignedVector<T> flipped_;  // (kh * kw, cp_): the kernel, taps reversed
  AlignedVector<T> dzp_;      // (out_h + 2 (span_h - 1), out_w + 2 (span_w - 1), cp_): one image's dL/dz
  AlignedVector<T> dxe_;      // dL/dxe of one image: (dbases_, cp_), or with strides (padded h, padded w, cp_)
};

// SeparableConv2D (Keras): the depthwise step of DepthwiseConv2D (no bias, linear), then a
// pointwise 1x1 convolution of its in_c * depth_multiplier channels to the filters, with bias
// (optional) and relu or linear: that second step is one Eigen GEMM over the batch's pixels.
template <typename T>
class SeparableConv2D final : public Layer<T> {
 public:
  // requires: shape.out_c the filters, the output is not empty, max_batch >= 1; activation relu or
  //           linear; depthwise/ddepthwise (kh, kw, in_c, depth_multiplier), pointwise/dpointwise
  //           (in_c * depth_multiplier, filters) and bias/dbias (filters) outlive the layer (bias
  //           and dbias null without bias).
  SeparableConv2D(ConvShape shape, int depth_multiplier, Activation activation, int max_batch, bool need_dx,
                  const T* depthwise, const T* pointwise, const T* bias, T* ddepthwise, T* dpointwise, T* dbias);
  // x (n, in_h, in_w, in_c) -> y (n, out_h, out_w, filters) = act(depthwise(x) . pointwise + bias).
  void forward(const T* x, T* y, int n, const DropoutContext* train = nullptr) override;
  // dy is overwritten with dL/d(pre-activation).
  void backward(const T* x, const T* y, T* dy, T* dx, int n) override;

 private:
  ConvShape shape_;
  int mid_;  // in_c * depth_multiplier: the channels between the two steps
  bool relu_;
  int max_batch_;
  const T* pointwise_;  // (in_c * depth_multiplier, filters)
  const T* bias_;       // (filters) or null
  T* dpointwise_;       // (in_c * depth_multiplier, filters)
  T* dbias_;            // (filters) or null
  DepthwiseConv2D<T> depthwise_;  // the first step
  AlignedVector<T> z_;   // (max_batch, out_h, out_w, mid_): the depthwise step's output
  AlignedVector<T> dz_;  // (max_batch, out_h, out_w, mid_): dL/dz
};

// Conv2D (any kernel, stride and padding; relu or linear; bias optional) fused with the
// MaxPooling2D after it (any window, stride and padding): the model picks it wherever the spec has
// that pair. Only the convolution pixels some pooling window reads are computed (conv2d_1's 11x11
// output loses its last row and column to the floor: 100 of 121 pixels), straight from the input,
// and the full-size activation is never stored: forward keeps the pooled output and each window's
// argmax, and backward sends the gradient to the argmax pixels alone (where the ReLU passed). The
// same result as Conv2D followed by MaxPool2D, up to float rounding.
template <typename T>
class Conv2DPool final : public Layer<T> {
 public:
  using Index = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;  // T's width: vectorizes

  // requires: conv as Conv2D's, undilated; pool.in_h, in_w, in_c are conv's output, pool.out_c == pool.in_c,
  //           the pooled output is not empty.
  Conv2DPool(ConvShape conv, ConvShape pool, Activation activation, int max_batch, bool need_dx, const T* kernel,
             const T* bias, T* dkernel, T* dbias);
  // x (n, in_h, in_w, in_c) -> y (n, pool_h, pool_w, out_c) = maxpool(act(conv(x) + bias)); each
  // window's argmax (first in row-major window order on ties, over the pre-activations) is recorded.
  void forward(const T* x, T* y, int n, const DropoutContext* train = nullptr) override;
  // dy is not modified.
  void backward(const T* x, const T* y, T* dy, T* dx, int n) override;

  const ConvShape& shape() const { return conv_; }
  const ConvShape& pool_shape() const { return pool_; }

 private:
  void sparse_chunk(const T* xp, const T* y, const T* dy, const Index* arg, T* dxp, int nc);
  void narrow_chunk(const T* xp, const T* y, const T* dy, const Index* arg, T* dxp, int nc);

  ConvShape conv_, pool_;
  bool relu_;
  int max_batch_;
  bool need_dx_;
  // kernel (kh, kw, in_c, out_c) == row-major (patch, out_c), bias (out_c) or null; their gradients alike
  WeightViews<T> w_;
  std::vector<std::uint32_t> bases_;          // (pixels): the computed conv pixels, row-major, as the
                                              // offsets of their patches in the (padded) input image
  std::vector<std::uint32_t> window_start_;   // (pool_h * pool_w + 1): window q's pixels are
  std::vector<std::uint32_t> window_pixels_;  //   window_pixels_[window_start_[q], window_start_[q + 1]), rows of z_
  std::vector<Index> argmax_;  // (max_batch, pool_h, pool_w, out_c): the max's position in its window
  AlignedVector<T> z_;           // (pixels, out_c rounded up to the lanes): one image's convolution sums
  AlignedVector<T> packed_;      // (patch, out_c rounded up): the kernel by channel blocks (direct_conv.hpp)
  AlignedVector<T> xp_, dxp_;    // (chunk, padded image): "same" padding's input copy and its gradient
  // The sparse backward (kernel rows of at least one vector):
  AlignedVector<T> wt_, dwt_;                    // (out_c, patch): the kernel and dL/dkernel transposed
  std::vector<std::uint32_t> entry_offset_;    // (out_c, chunk windows): a winner's patch offset in xp_
  AlignedVector<T> entry_g_;                     // (out_c, chunk windows): its nonzero gradient
  std::vector<int> count_;                     // (out_c): entries per channel
  AlignedVector<T> grad_;                        // (out_c): one window's gradients
  std::vector<int> live_;                      // (out_c): its channels with a nonzero gradient
  std::vector<std::uint32_t> offset_;          // (window size): its pixels' patch offsets in xp_
  std::vector<int> winners_;                   // (out_c): the channels one pixel of the window wins
  AlignedVector<T> winner_g_;                    // (out_c): their gradients
  // The narrow backward (kernel rows shorter than a vector):
  std::vector<std::uint32_t> taps_;  // (patch): each tap's offset from its pixel's base
  AlignedVector<T> dz_;                // (chunk * pixels, out_c): the gradient at the winners, else 0 (for dX)
  AlignedVector<T> dkp_;               // (patch, out_c rounded up): dL/dkernel
  AlignedVector<T> dcol_;              // (chunk * pixels, patch): dL/dcol, for dX
};

// MaxPooling2D, any window, stride and padding ("same" pads with -infinity: padding never wins).
template <typename T>
class MaxPool2D final : public Layer<T> {
 public:
  // requires: shape.out_c == shape.in_c, the output is not empty, max_batch >= 1.
  MaxPool2D(ConvShape shape, int max_batch);
  // y = the max over each window; the position of each max (first in row-major window order on
  // ties) is recorded.
  void forward(const T* x, T* y, int n, const DropoutContext* train = nullptr) override;
  // dx = dy routed to each window's recorded max (summed where windows overlap), 0 elsewhere.
  void backward(const T* x, const T* y, T* dy, T* dx, int n) override;
  BackwardReads backward_reads() const override { return {false, false}; }

 private:
  ConvShape shape_;
  int max_batch_;
  std::vector<std::uint32_t> argmax_;  // (max_batch, out_h, out_w, c): the max's pixel in the image
};

// AveragePooling2D, any window, stride and padding; as TensorFlow, "same" windows divide by the
// number of real pixels they cover.
template <typename T>
class AvgPool2D final : public Layer<T> {
 public:
  // requires: shape.out_c == shape.in_c, the output is not empty.
  explicit AvgPool2D(ConvShape shape);
  void forward(const T* x, T* y, int n, const DropoutContext* train = nullptr) override;
  // dx = each window's dy / its pixel count, added to every pixel it covers.
  void backward(const T* x, const T* y, T* dy, T* dx, int n) override;
  BackwardReads backward_reads() const override { return {false, false}; }

 private:
  ConvShape shape_;
};

// Dense: y = x . kernel [+ bias], with relu or linear fused.
template <typename T>
class Dense final : public Layer<T> {
 public:
  // requires: in, out >= 1; activation relu or linear; kernel/dkernel (in, out), bias/dbias
  //           (out) outlive the layer (null without bias).
  Dense(int in, int out, Activation activation, const T* kernel, const T* bias, T* dkernel, T* dbias);
  // x (n, in) -> y (n, out).
  void forward(const T* x, T* y, int n, const DropoutContext* train = nullptr) override;
  // dy is overwritten with dL/d(pre-activation) when relu.
  void backward(const T* x, const T* y, T* dy, T* dx, int n) override;
  BackwardReads backward_reads() const override { return {true, relu_}; }

 private:
  int in_, out_;
  bool relu_;
  // kernel (in, out), bias (out) or null; their gradients alike
  WeightViews<T> w_;
};

// Dropout (Keras's inverted dropout): in training, each value is kept with probability 1 - rate
// and scaled by 1 / (1 - rate); in evaluation, y = x. The mask of a sample is a counter-based
// hash of (seed, step, the sample's position in the global batch, layer, value index): no RNG
// state, so any number of ranks, and a resumed run, draw the same masks.
template <typename T>
class Dropout final : public Layer<T> {
 public:
  // requires: 0 <= rate < 1; size = values per image; layer = the spec's layer index.
  Dropout(double rate, std::size_t size, std::size_t layer, int max_batch);
  void forward(const T* x, T* y, int n, const DropoutContext* train) override;
  // dx = dy * the mask of the last forward (dy itself in evaluation).
  void backward(const T* x, const T* y, T* dy, T* dx, int n) override;
  BackwardReads backward_reads() const override { return {false, false}; }

  // Whether value `value` of the sample at position `sample` survives (for tests and references).
  static bool keep(double rate, const DropoutContext& at, std::int64_t sample, std::size_t layer, std::size_t value);

 private:
  double rate_;
  std::size_t size_, layer_;
  int max_batch_;
  bool trained_ = false;   // the last forward applied a mask
  std::vector<T> mask_;    // (max_batch, size): 0 or 1 / (1 - rate)
};

// Activation('relu') as a layer of its own: y = max(x, 0).
template <typename T>
class Relu final : public Layer<T> {
 public:
  explicit Relu(std::size_t size);  // values per image
  void forward(const T* x, T* y, int n, const DropoutContext* train = nullptr) override;
  // dx = dy where y > 0, else 0.
  void backward(const T* x, const T* y, T* dy, T* dx, int n) override;
  BackwardReads backward_reads() const override { return {false, true}; }

 private:
  std::size_t size_;
};

// An elementwise function: a Keras activation other than linear and softmax (relu stays fused in
// Conv2D and Dense), or a ReLU, LeakyReLU or ELU layer, with its parameters; the formulas and the
// Keras sources they come from are in src/nn/elementwise.cpp (docs/models.md: Activations).
struct ElementwiseFn {
  enum class Kind {
    relu,              // x > threshold ? min(x, ceiling) : slope * (x - threshold)
    elu,               // x > 0 ? x : alpha * (exp(x) - 1)
    selu,              // Keras's scale * elu(x, alpha) with its two constants
    gelu,              // 0.5 x (1 + erf(x / sqrt 2))
    gelu_tanh,         // 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))
    swish,             // x * sigmoid(x) (silu)
    sigmoid,
    tanh,
    softplus,          // log(1 + exp(x))
    softsign,          // x / (1 + |x|)
    hard_sigmoid,      // Keras 2: clip(0.2 x + 0.5, 0, 1)
    hard_sigmoid_relu6,  // Keras 3: relu6(x + 3) / 6
    exponential,       // exp(x)
  };
  Kind kind = Kind::relu;
  double slope = 0;                                   // relu
  double ceiling = std::numeric_limits<double>::infinity();  // relu: max_value (relu6: 6)
  double threshold = 0;                               // relu
  double alpha = 1;                                   // elu

  bool operator==(const ElementwiseFn&) const = default;
};

// An elementwise function as a layer: y = f(x) on every value.
template <typename T>
class Elementwise final : public Layer<T> {
 public:
  // size: values per image.
  Elementwise(ElementwiseFn fn, std::size_t size);
  void forward(const T* x, T* y, int n, const DropoutContext* train = nullptr) override;
  // dx = dy * f'(x); dx may be dy itself.
  void backward(const T* x, const T* y, T* dy, T* dx, int n) override;
  const ElementwiseFn& fn() const { return fn_; }

 private:
  ElementwiseFn fn_;
  std::size_t size_;
};

// A layer followed by an elementwise function (a Conv2D or Dense whose activation its kernel does
// not fuse): the inner layer's output z is kept for backward.
template <typename T>
class Activated final : public Layer<T> {
 public:
  // requires: inner's output has `size` values per image; max_batch >= 1.
  Activated(std::unique_ptr<Layer<T>> inner, ElementwiseFn fn, std::size_t size, int max_batch);
  // z = inner(x) (n, size); y = f(z).
  void forward(const T* x, T* y, int n, const DropoutContext* train = nullptr) override;
  // dz = dy * f'(z) (in dy), then the inner layer's backward.
  void backward(const T* x, const T* y, T* dy, T* dx, int n) override;
  Layer<T>& inner() { return *inner_; }

 private:
  std::unique_ptr<Layer<T>> inner_;
  Elementwise<T> fn_;
  int max_batch_;
  AlignedVector<T> z_;  // (max_batch, size): the inner layer's output
};

// GlobalAveragePooling2D and GlobalMaxPooling2D: (n, h, w, c) -> (n, c), the mean or the max of
// each channel over the pixels (keepdims' (n, 1, 1, c) is the same buffer).
template <typename T>
class GlobalPool2D final : public Layer<T> {
 public:
  // requires: h, w, c >= 1, max_batch >= 1.
  GlobalPool2D(int h, int w, int c, bool max, int max_batch);
  // y = the mean (sum in pixel order, then / (h * w)) or the max (its pixel recorded: the first
  // in pixel order on ties).
  void forward(const T* x, T* y, int n, const DropoutContext* train = nullptr) override;
  // dx = dy / (h * w) on every pixel, or dy on each channel's recorded max and 0 elsewhere.
  void backward(const T* x, const T* y, T* dy, T* dx, int n) override;

 private:
  int pixels_, c_;
  bool max_;
  int max_batch_;
  std::vector<std::uint32_t> argmax_;  // (max_batch, c): the max's pixel
};

// ZeroPadding2D: (n, h, w, c) -> (n, top + h + bottom, left + w + right, c), zeros around.
template <typename T>
class ZeroPad2D final : public Layer<T> {
 public:
  // requires: h, w, c >= 1; pads (top, bottom, left, right) >= 0.
  ZeroPad2D(int h, int w, int c, std::array<int, 4> pads);
  void forward(const T* x, T* y, int n, const DropoutContext* train = nullptr) override;
  // dx = dy without its padding.
  void backward(const T* x, const T* y, T* dy, T* dx, int n) override;

 private:
  int h_, w_, c_;
  std::array<int, 4> pads_;  // top, bottom, left, right
  int out_w() const { return pads_[2] + w_ + pads_[3]; }
  std::size_t out_size() const { return std::size_t(pads_[0] + h_ + pads_[1]) * out_w() * c_; }
};

// BatchNormalization over the channels (the last axis), Keras's maths: in training, y = gamma *
// (x - mean) / sqrt(var + epsilon) + beta with the mean and biased variance of the WHOLE global
// batch, which the model gathers in two phases around forward and backward (batch_sums ->
// exchange -> set_batch, then backward_sums -> exchange -> set_backward); in evaluation, the
// moving statistics. Holds no per-call state, so one object serves every micro-batch of a step.
template <typename T>
class BatchNorm final : public Layer<T> {
 public:
  // requires: channels >= 1, pixels >= 1 (values per channel per image: h * w, or 1 after a
  //           Dense); gamma/dgamma null without scale, beta/dbeta null without center; the
  //           moving statistics (channels) are in the parameter arena and updated by set_batch.
  //           relu: an Activation('relu') right after it is fused in (y = max(normalised, 0)).
  BatchNorm(int channels, std::size_t pixels, double momentum, double epsilon, bool relu, const T* gamma, const T* beta,
            T* moving_mean, T* moving_variance, T* dgamma, T* dbeta);
  int channels() const { return channels_; }
  std::size_t pixels() const { return pixels_; }

  // sums (2 * channels) += per channel sum of (x - K) and of (x - K)^2 over x (n, ..., channels),
  // K the moving mean (a shift that keeps the one-pass variance accurate), in double.
  void batch_sums(const T* x, int n, double* sums) const;
  // sums as batch_sums over the whole batch of `count` values per channel: fixes the batch mean and
  // variance for forward(train) and backward; update_moving: moving = moving * momentum +
  // batch * (1 - momentum), with the biased variance (see batch_norm.cpp).
  void set_batch(const double* sums, double count, bool update_moving);
  // train: normalise with the batch set by set_batch; null: with the moving statistics.
  void forward(const T* x, T* y, int n, const DropoutContext* train) override;

  // sums (2 * channels) += per channel sum of dy and of dy * xhat, xhat = (x - mean) / sqrt(var + eps);
  // with relu, dy counts only where the output y is positive.
  void backward_sums(const T* x, const T* y, const T* dy, int n, double* sums);
  // sums as backward_sums over the whole batch of `count` values per channel.
  void set_backward(const double* sums, double count);
  // requires: set_batch and set_backward for this step. dx = gamma / sqrt(var + eps) * (dy -
  // mean(dy) - xhat * mean(dy * xhat)) (means over the whole batch); dgamma += sum(dy * xhat),
  // dbeta += sum(dy) over these n images.
  void backward(const T* x, const T* y, T* dy, T* dx, int n) override;
  // The same, given `sums` = backward_sums of these n images (the model has them already).
  void backward_with(const T* x, const T* y, const T* dy, T* dx, int n, const double* sums);

 private:
  int channels_;
  std::size_t pixels_;
  double momentum_, epsilon_;
  bool relu_;
  const T* gamma_;          // (channels) or null: 1
  const T* beta_;           // (channels) or null: 0
  T* moving_mean_;          // (channels)
  T* moving_variance_;      // (channels)
  T* dgamma_;               // (channels) or null
  T* dbeta_;                // (channels) or null
  std::vector<double> mean_, inv_std_;     // (channels): the batch's mean and 1 / sqrt(var + epsilon)
  std::vector<T> a_, b_;                   // (channels): y = a * x + b for forward
  std::vector<T> da_, db_, dc_;            // (channels): dx = da * dy + db * x + dc for backward
  std::vector<double> sums_;               // (2 * channels): backward's own backward_sums
  std::vector<double> gx_;                 // (2 * channels): backward_sums' sums of dy and of dy * x
  std::vector<T> block_;                   // (2 * channels): the same over a block of rows, in T
};

// The element-wise merges, as Keras's Add, Subtract (two inputs), Multiply, Average, Maximum and
// Minimum compute them.
enum class MergeOp { add, subtract, multiply, average, maximum, minimum };

// An element-wise merge of inputs of one shape, in the call's order.
template <typename T>
class ElementwiseMerge final : public Layer<T> {
 public:
  // requires: size >= 1 values per image; inputs >= 1 (exactly 2 for subtract).
  ElementwiseMerge(MergeOp op, std::size_t size, int inputs);
  // y = x[0] op x[1] op ... from the left; average: their sum, then / inputs.
  void forward_inputs(std::span<const T* const> x, T* y, int n, const DropoutContext* train) override;
  // dx[k] = dy (add), dy and -dy (subtract), dy / inputs (average), dy times every other input
  // (multiply), dy where x[k] is the earliest input equal to y and 0 elsewhere (maximum, minimum).
  void backward_inputs(std::span<const T* const> x, const T* y, T* dy, std::span<T* const> dx, int n) override;
  // add, subtract, average: neither; multiply: x; maximum, minimum: x and y.
  BackwardReads backward_reads() const override;
  void forward(const T* x, T* y, int n, const DropoutContext* train) override { forward_inputs({&x, 1}, y, n, train); }
  void backward(const T* x, const T* y, T* dy, T* dx, int n) override { backward_inputs({&x, 1}, y, dy, {&dx, 1}, n); }

 private:
  MergeOp op_;
  std::size_t size_;  // values per image of each input and of the output
  int inputs_;
};

// Concatenate on the last axis: each row of the output holds input 0's row, then input 1's, ...
template <typename T>
class Concatenate final : public Layer<T> {
 public:
  // requires: one width >= 1 per input; rows >= 1: an image of input k is (rows, widths[k]).
  Concatenate(std::vector<std::size_t> widths, std::size_t rows);
  void forward_inputs(std::span<const T* const> x, T* y, int n, const DropoutContext* train) override;
  // dx[k] = input k's columns of dy.
  void backward_inputs(std::span<const T* const> x, const T* y, T* dy, std::span<T* const> dx, int n) override;
  BackwardReads backward_reads() const override { return {false, false}; }
  void forward(const T* x, T* y, int n, const DropoutContext* train) override { forward_inputs({&x, 1}, y, n, train); }
  void backward(const T* x, const T* y, T* dy, T* dx, int n) override { backward_inputs({&x, 1}, y, dy, {&dx, 1}, n); }

 private:
  std::vector<std::size_t> widths_;  // (inputs): each input's last dimension
  std::size_t rows_;                 // per image: the product of the other dimensions
  std::size_t width_ = 0;            // the output's last dimension: the sum of widths_
};

// Softmax cross-entropy from logits (log-sum-exp), summed over the samples, against the targets
// t = onehot(label) * (1 - s) + s / classes of label smoothing s in [0, 1) (Keras's
// CategoricalCrossentropy(label_smoothing=s), keras/src/losses/losses.py; s = 0: the one-hot labels).
// requires: logits (n, classes), labels (n) in [0, classes).
// ensures:  loss_sum = sum_i (logsumexp(logits_i) - sum_k t_ik logits_ik);
//           correct = #{i : argmax(logits_i) == label_i}, ties resolved to the first index.
template <typename T>
BatchStats softmax_xent_forward(const T* logits, const std::uint8_t* labels, int n, int classes,
                                double label_smoothing = 0);

// requires: as softmax_xent_forward; dlogits (n, classes).
// ensures:  dlogits = softmax(logits) - t: the gradient of the loss SUM (no 1/n).
template <typename T>
void softmax_xent_backward(const T* logits, const std::uint8_t* labels, int n, int classes, T* dlogits,
                           double label_smoothing = 0);

extern template class Conv2D<float>;
extern template class Conv2D<double>;
extern template class DepthwiseConv2D<float>;
extern template class DepthwiseConv2D<double>;
extern template class SeparableConv2D<float>;
extern template class SeparableConv2D<double>;
extern template class Conv2DPool<float>;
extern template class Conv2DPool<double>;
extern template class MaxPool2D<float>;
extern template class MaxPool2D<double>;
extern template class AvgPool2D<float>;
extern template class AvgPool2D<double>;
extern template class Dense<float>;
extern template class Dense<double>;
extern template class Dropout<float>;
extern template class Dropout<double>;
extern template class Relu<float>;
extern template class Relu<double>;
extern template class Elementwise<float>;
extern template class Elementwise<double>;
extern template class Activated<float>;
extern template class Activated<double>;
extern template class GlobalPool2D<float>;
extern template class GlobalPool2D<double>;
extern template class ZeroPad2D<float>;
extern template class ZeroPad2D<double>;
extern template class BatchNorm<float>;
extern template class BatchNorm<double>;
extern template class ElementwiseMerge<float>;
extern template class ElementwiseMerge<double>;
extern template class Concatenate<float>;
extern template class Concatenate<double>;

}  // namespace fmnist
