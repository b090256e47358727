// The Sequential CNN of the Keras Fashion-MNIST tutorial (README: How it computes), NHWC:
//   conv2d 3x3x32 relu -> max_pooling2d -> conv2d_1 3x3x64 relu -> max_pooling2d_1
//   -> conv2d_2 3x3x64 relu -> flatten -> dense 64 relu -> dense_1 10 (logits)
// Parameters live in one contiguous arena and gradients in another (Keras weight order),
// so a start is one broadcast and a step one allreduce. Templated on the scalar so the
// gradient checks run in double; training uses float.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace fmnist {

// One weight tensor inside the parameter arena, in Keras's legacy HDF5 naming.
struct TensorSpec {
  std::string layer;       // "conv2d", ..., "dense_1"
  std::string name;        // "conv2d/kernel:0", "conv2d/bias:0", ...
  std::vector<int> shape;  // (3, 3, 1, 32), (32), ..., (64, 10)
  std::size_t offset;      // first element in the arena
  std::size_t size;        // number of elements
};

// One layer as the model summary shows it.
struct LayerSpec {
  std::string name;               // "conv2d", "max_pooling2d", ..., "dense_1"
  std::string type;               // "Conv2D", "MaxPooling2D", "Flatten", "Dense"
  std::vector<int> output_shape;  // without the batch dimension, e.g. (26, 26, 32)
  std::size_t params;
};

constexpr std::size_t kNumParams = 93322;
const std::vector<TensorSpec>& weight_tensors();  // arena order: conv2d kernel, bias, conv2d_1 ...
const std::vector<LayerSpec>& layer_specs();      // the 8 layers in order
std::string model_summary();                      // Keras-like table with the 93,322 total

// Sums over the samples of a batch (not means): ranks add them with one allreduce.
struct BatchStats {
  double loss_sum = 0;       // sum of softmax cross-entropy losses
  std::int64_t correct = 0;  // argmax(logits) == label
};

template <typename T>
class Model {
 public:
  // Workspaces are sized once for at most max_batch images per call; nothing is allocated later.
  explicit Model(int max_batch);
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  int max_batch() const;
  std::size_t num_params() const { return kNumParams; }
  T* params();  // (93,322), layout as weight_tensors()
  const T* params() const;
  T* grads();  // (93,322), same layout
  const T* grads() const;

  // glorot_uniform kernels (limit sqrt(6 / (fan_in + fan_out))) and zero biases, from seed.
  void init(std::uint64_t seed);
  void zero_grads();

  // x: (n, 28, 28, 1), n <= max_batch. Returns the logits (n, 10), valid until the next call.
  const T* forward(const T* x, int n);
  // Forward and the loss/accuracy sums, no gradient.
  BatchStats evaluate(const T* x, const std::uint8_t* labels, int n);
  // Forward and backward: ADDS the gradient of the batch's loss SUM to grads().
  BatchStats accumulate_gradients(const T* x, const std::uint8_t* labels, int n);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

extern template class Model<float>;
extern template class Model<double>;

}  // namespace fmnist
