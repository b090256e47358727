// Conv2D 3x3 valid with fused bias and ReLU, NHWC. The general path is im2col (each row of col
// is three contiguous runs of 3 * in_c input values) and one Eigen GEMM per L2-sized chunk of
// images; backward recomputes the chunk's col (cheaper than keeping 35 MB), then dW += col^T . dy
// and dcol = dy . W^T, col2im. The model uses it for conv2d_2; conv+pool pairs use the fused
// Conv2DPool, which this layer (with MaxPool2D) is the plain reference for.
#include "eigen_views.hpp"  // first: it includes the intrinsics headers

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "fmnist/layers.hpp"
#include "im2col.hpp"

namespace fmnist {
namespace {

using detail::col2im;
using detail::ConstMapRM;
using detail::im2col;
using detail::MapRM;
using detail::MapRow;

constexpr int kChunkRows = 1024;  // output pixels per GEMM chunk: keeps a chunk's col near L2
int chunk_images(const ConvShape& s) {
  return std::max(1, kChunkRows / (s.out_h() * s.out_w()));
}

// y (rows, out_c) = relu(y + bias).
template <typename T>
void add_bias_relu(T* y, const T* bias, std::size_t rows, int out_c) {
  for (std::size_t r = 0; r < rows; ++r, y += out_c) {
    for (int c = 0; c < out_c; ++c) y[c] = std::max(y[c] + bias[c], T(0));
  }
}

// dy (rows, out_c) *= (y > 0).
template <typename T>
void relu_mask(const T* y, T* dy, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) dy[i] = y[i] > T(0) ? dy[i] : T(0);
}

}  // namespace

template <typename T>
Conv2D<T>::Conv2D(ConvShape shape, int max_batch, bool need_dx, const T* kernel, const T* bias,
                  T* dkernel, T* dbias)
    : shape_(shape),
      max_batch_(max_batch),
      need_dx_(need_dx),
      kernel_(kernel),
      bias_(bias),
      dkernel_(dkernel),
      dbias_(dbias) {
  if (shape.in_h < 3 || shape.in_w < 3 || shape.in_c < 1 || shape.out_c < 1 || max_batch < 1) {
    throw std::invalid_argument("Conv2D: bad shape or max_batch");
  }
  const std::size_t rows = std::size_t(shape.out_h()) * shape.out_w();
  const std::size_t k = std::size_t(9) * shape.in_c;
  const std::size_t chunk_rows = std::min(max_batch, chunk_images(shape)) * rows;
  pixels_ = detail::pixels_row_major(shape);
  col_.resize(chunk_rows * k);
  if (need_dx) dcol_.resize(chunk_rows * k);
}

template <typename T>
void Conv2D<T>::forward(const T* x, T* y, int n) {
  if (n < 0 || n > max_batch_) throw std::invalid_argument("Conv2D::forward: n > max_batch");
  const ConvShape& s = shape_;
  const int rows = s.out_h() * s.out_w();
  const int k = 9 * s.in_c;
  const ConstMapRM<T> w(kernel_, k, s.out_c);
  const int chunk = chunk_images(s);
  for (int i0 = 0; i0 < n; i0 += chunk) {
    const int nc = std::min(chunk, n - i0);
    T* col = col_.data();
    T* yc = y + i0 * s.out_size();
    im2col(s, pixels_, x + i0 * s.in_size(), col, nc);
    MapRM<T>(yc, nc * rows, s.out_c).noalias() = ConstMapRM<T>(col, nc * rows, k) * w;
    add_bias_relu(yc, bias_, std::size_t(nc) * rows, s.out_c);
  }
}

template <typename T>
void Conv2D<T>::backward(const T* x, const T* y, T* dy, T* dx, int n) {
  if (n < 0 || n > max_batch_) throw std::invalid_argument("Conv2D::backward: n > max_batch");
  if (n == 0) return;
  const ConvShape& s = shape_;
  const int rows = s.out_h() * s.out_w();
  const int k = 9 * s.in_c;
  const ConstMapRM<T> w(kernel_, k, s.out_c);
  MapRM<T> dw(dkernel_, k, s.out_c);
  const int chunk = chunk_images(s);
  for (int i0 = 0; i0 < n; i0 += chunk) {
    const int nc = std::min(chunk, n - i0);
    T* dyc = dy + i0 * s.out_size();
    const ConstMapRM<T> dy_chunk(dyc, nc * rows, s.out_c);
    relu_mask(y + i0 * s.out_size(), dyc, nc * s.out_size());
    MapRow<T>(dbias_, s.out_c) += dy_chunk.colwise().sum();
    im2col(s, pixels_, x + i0 * s.in_size(), col_.data(), nc);  // recomputed: cheaper than storing
    dw.noalias() += ConstMapRM<T>(col_.data(), nc * rows, k).transpose() * dy_chunk;
    if (need_dx_) {
      MapRM<T>(dcol_.data(), nc * rows, k).noalias() = dy_chunk * w.transpose();
      col2im(s, pixels_, dcol_.data(), dx + i0 * s.in_size(), nc);
    }
  }
}

template class Conv2D<float>;
template class Conv2D<double>;

}  // namespace fmnist
