// Private to src/nn: a GEMM whose left operand is packed once for many products (Winograd's 36
// kernels, each used for every pass of tiles), with Eigen's own packing and kernel in the order
// Eigen's product takes when the product fits one cache block: so the same bytes as the Eigen
// expression C = A * B (col-major C), whose work it skips only the repeated packing of A. Where
// Eigen would split the product otherwise (PackedOperands::fits() false) the caller uses that
// expression.
#pragma once

#include "eigen_views.hpp"

#include <algorithm>
#include <cstddef>

#include "fmnist/layers.hpp"

namespace fmnist::detail {

// A (rows x depth) in the given storage order (Eigen::ColMajor or RowMajor) with leading
// dimension `stride`, packed as Eigen's product packs it.
template <typename T, int Order>
class PackedLhs {
 public:
  using Index = Eigen::Index;
  using Traits = Eigen::internal::gebp_traits<T, T>;

  // The rows of A that Eigen's product C (rows x cols) = A (rows x depth) * B packs and multiplies
  // at a time (its blocking for this machine's caches), or 0 where Eigen would also split depth or
  // cols (or not use its GEMM at all): then only the Eigen expression gives Eigen's bytes.
  static Index block_rows(Index rows, Index depth, Index cols) {
    if (rows < 2 || cols < 2 || rows + cols + depth < 20) return 0;  // Eigen's GEMV and lazy products
    Index kc = depth, mc = rows, nc = cols;
    Eigen::internal::computeProductBlockingSizes<T, T, 1>(kc, mc, nc, Index(1));
    return kc >= depth && nc >= cols ? std::min(mc, rows) : 0;
  }

  // The packed form of A (rows x depth) at a, leading dimension stride, into packed (rows * depth),
  // block_rows (> 0) rows at a time, as Eigen's product packs them.
  static void pack(const T* a, Index stride, Index rows, Index depth, Index block_rows, T* packed) {
    using Mapper = Eigen::internal::const_blas_data_mapper<T, Index, Order>;
    Eigen::internal::gemm_pack_lhs<T, Index, Mapper, Traits::mr, Traits::LhsProgress,
                                   typename Traits::LhsPacket4Packing, Order>
        pack_lhs;
    const Mapper lhs(a, stride);
    for (Index i = 0; i < rows; i += block_rows)
      pack_lhs(packed + i * depth, lhs.getSubMapper(i, 0), depth, std::min(block_rows, rows - i));
  }

  // c (rows x cols, col-major, leading dimension rows) = A * b, b (depth x cols, col-major, leading
  // dimension depth), A packed by pack() with block_rows(rows, depth, cols) (> 0), block_b of
  // depth * cols: Eigen's sequential GEMM for one block of depth and cols, A already packed.
  static void multiply(const T* packed, Index block_rows, const T* b, T* c, Index rows, Index depth, Index cols,
                       T* block_b) {
    using RhsMapper = Eigen::internal::const_blas_data_mapper<T, Index, Eigen::ColMajor>;
    using ResMapper = Eigen::internal::blas_data_mapper<T, Index, Eigen::ColMajor, Eigen::Unaligned, 1>;
    Eigen::internal::gemm_pack_rhs<T, Index, RhsMapper, Traits::nr, Eigen::ColMajor> pack_rhs;
    Eigen::internal::gebp_kernel<T, T, Index, ResMapper, Traits::mr, Traits::nr, false, false> gebp;
    std::fill(c, c + rows * cols, T(0));  // Eigen's evalTo: setZero, then C += 1 * A * B
    pack_rhs(block_b, RhsMapper(b, depth), depth, cols);
    const ResMapper res(c, rows);
    for (Index i = 0; i < rows; i += block_rows)
      gebp(res.getSubMapper(i, 0), packed + i * depth, block_b, std::min(block_rows, rows - i), depth, cols, T(1));
  }
};

// `count` left operands A_i (rows x depth, in Order), each packed once by pack() for products with
// up to max_cols columns; none (default) where Eigen's blocking leaves nothing to pack once.
template <typename T, int Order>
class PackedOperands {
 public:
  using Index = Eigen::Index;
  using Lhs = PackedLhs<T, Order>;

  PackedOperands() = default;
  PackedOperands(Index rows, Index depth, Index max_cols, int count)
      : rows_(rows), depth_(depth), block_rows_(Lhs::block_rows(rows, depth, max_cols)),
        stride_((std::size_t(rows * depth) + kLine - 1) / kLine * kLine) {
    if (block_rows_ == 0) return;
    packed_.resize(std::size_t(count) * stride_);
    block_b_.resize(std::size_t(depth * max_cols));
  }
  // A_i = a, leading dimension `stride` (nothing to do without packing).
  void pack(int i, const T* a, Index stride) {
    if (block_rows_ > 0) Lhs::pack(a, stride, rows_, depth_, block_rows_, packed_.data() + i * stride_);
  }
  // Whether multiply() gives the expression's bytes for `cols` columns: Eigen blocks that product
  // as the operands were packed.
  bool fits(Index cols) const { return block_rows_ > 0 && Lhs::block_rows(rows_, depth_, cols) == block_rows_; }
  // c (rows x cols, col-major) = A_i b (depth x cols, col-major); requires fits(cols).
  void multiply(int i, const T* b, T* c, Index cols) {
    Lhs::multiply(packed_.data() + i * stride_, block_rows_, b, c, rows_, depth_, cols, block_b_.data());
  }

 private:
  static constexpr std::size_t kLine = 64 / sizeof(T);  // each operand on a cache line
  Index rows_ = 0, depth_ = 0, block_rows_ = 0;
  std::size_t stride_ = 0;          // between two packed operands
  AlignedVector<T> packed_;         // (count, stride_)
  AlignedVector<T> block_b_;        // (depth, max_cols): a product's packed right operand
};

}  // namespace fmnist::detail
