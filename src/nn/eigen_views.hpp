// Private to src/nn: Eigen views over the layers' flat buffers (row-major, no copies), so a
// layer's GEMM is one `.noalias()` expression over its arena slices and workspaces, and the
// bias gradient's column sums (in a fixed order, whatever the buffers' alignment).
#pragma once

// GCC 12 reports false -Wmaybe-uninitialized warnings inside its own AVX-512 intrinsics when
// they are inlined into Eigen's GEMM kernels (GCC bug 105593); silence exactly that one here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#include <Eigen/Core>
#pragma GCC diagnostic pop

#include <cstddef>

namespace fmnist::detail {

template <typename T>
using MatrixRM = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using MapRM = Eigen::Map<MatrixRM<T>>;
template <typename T>
using ConstMapRM = Eigen::Map<const MatrixRM<T>>;
template <typename T>
using ConstMapRow = Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>>;
template <typename T>
using MapRow = Eigen::Map<Eigen::Matrix<T, 1, Eigen::Dynamic>>;

// sums (cols) += the column sums of x (rows, cols), row after row. (Eigen's colwise().sum() peels
// columns by the address alignment of its operands, so its rounding would depend on where a
// process's allocator put the buffers, and N ranks would not give one rank's bytes.)
template <typename T>
void add_column_sums(const T* __restrict x, std::size_t rows, int cols, T* __restrict sums) {
  for (std::size_t r = 0; r < rows; ++r, x += cols) {
    for (int c = 0; c < cols; ++c) sums[c] += x[c];
  }
}

}  // namespace fmnist::detail
