// Private to src/nn: Eigen views over the layers' flat buffers (row-major, no copies), so a
// layer's GEMM is one `.noalias()` expression over its arena slices and workspaces.
#pragma once

// GCC 12 reports false -Wmaybe-uninitialized warnings inside its own AVX-512 intrinsics when
// they are inlined into Eigen's GEMM kernels (GCC bug 105593); silence exactly that one here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#include <Eigen/Core>
#pragma GCC diagnostic pop

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

}  // namespace fmnist::detail
