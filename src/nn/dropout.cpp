// Dropout as Keras computes it (inverted: kept values scaled by 1 / (1 - rate), off in
// evaluation), with masks from a counter-based hash instead of a random generator: the mask of
// value j of a sample is splitmix64 over (seed, step, the sample's position in the global batch,
// layer, j) (sample_hash.hpp): the same on any rank, for any split of the batch, after a resume.
#include <algorithm>
#include <stdexcept>

#include "fmnist/layers.hpp"
#include "sample_hash.hpp"

namespace fmnist {
namespace {

using sample_hash::sample_key;

// A value is kept when its 53-bit uniform draw u satisfies u >= rate (as TensorFlow's dropout).
std::uint64_t threshold(double rate) { return static_cast<std::uint64_t>(rate * 0x1.0p53); }
bool kept(std::uint64_t key, std::size_t value, std::uint64_t limit) { return sample_hash::bits53(key, value) >= limit; }

}  // namespace

template <typename T>
Dropout<T>::Dropout(double rate, std::size_t size, std::size_t layer, int max_batch)
    : rate_(rate), size_(size), layer_(layer), max_batch_(max_batch), mask_(std::size_t(max_batch) * size) {
  if (!(rate >= 0 && rate < 1) || size < 1 || max_batch < 1) throw std::invalid_argument("Dropout: bad rate or size");
}

template <typename T>
bool Dropout<T>::keep(double rate, const DropoutContext& at, std::int64_t sample, std::size_t layer, std::size_t value) {
  return kept(sample_key(at, sample, layer), value, threshold(rate));
}

template <typename T>
void Dropout<T>::forward(const T* x, T* y, int n, const DropoutContext* train) {
  if (n < 0 || n > max_batch_) throw std::invalid_argument("Dropout::forward: n > max_batch");
  const std::size_t count = std::size_t(n) * size_;
  trained_ = train != nullptr;
  if (!trained_) {
    std::copy(x, x + count, y);
    return;
  }
  const T scale = T(1.0 / (1.0 - rate_));
  const std::uint64_t limit = threshold(rate_);
  T* m = mask_.data();
  for (int i = 0; i < n; ++i) {
    const std::uint64_t key = sample_key(*train, train->first_sample + i, layer_);
    for (std::size_t j = 0; j < size_; ++j, ++m) *m = kept(key, j, limit) ? scale : T(0);
  }
  for (std::size_t j = 0; j < count; ++j) y[j] = x[j] * mask_[j];
}

template <typename T>
void Dropout<T>::backward(const T*, const T*, T* dy, T* dx, int n) {
  if (n < 0 || n > max_batch_) throw std::invalid_argument("Dropout::backward: n > max_batch");
  if (dx == nullptr) return;
  const std::size_t count = std::size_t(n) * size_;
  for (std::size_t j = 0; j < count; ++j) dx[j] = trained_ ? dy[j] * mask_[j] : dy[j];
}

template class Dropout<float>;
template class Dropout<double>;

}  // namespace fmnist
