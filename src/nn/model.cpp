// The Sequential CNN (README: How it computes): the weight layout in Keras order, the summary table, and
// Model<T>, which owns the parameter and gradient arenas, the layers (views into the arenas)
// and every activation buffer, all sized in the constructor for max_batch images.
#include <cmath>
#include <cstdio>
#include <random>
#include <sstream>
#include <stdexcept>

#include "fmnist/layers.hpp"
#include "fmnist/model.hpp"

namespace fmnist {
namespace {

constexpr int kImage = 28;
constexpr int kClasses = 10;

std::vector<TensorSpec> make_weight_tensors() {
  const std::vector<std::pair<std::string, std::vector<int>>> kernels = {
      {"conv2d", {3, 3, 1, 32}},  {"conv2d_1", {3, 3, 32, 64}}, {"conv2d_2", {3, 3, 64, 64}},
      {"dense", {576, 64}},       {"dense_1", {64, 10}},
  };
  std::vector<TensorSpec> specs;
  std::size_t offset = 0;
  auto add = [&](const std::string& layer, const std::string& what, std::vector<int> shape) {
    std::size_t size = 1;
    for (int d : shape) size *= std::size_t(d);
    specs.push_back({layer, layer + "/" + what + ":0", std::move(shape), offset, size});
    offset += size;
  };
  for (const auto& [layer, shape] : kernels) {
    add(layer, "kernel", shape);
    add(layer, "bias", {shape.back()});
  }
  if (offset != kNumParams) throw std::logic_error("weight_tensors: parameter count mismatch");
  return specs;
}

std::string with_commas(std::size_t value) {
  const std::string digits = std::to_string(value);
  std::string text;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) text += ',';
    text += digits[i];
  }
  return text;
}

std::string shape_text(const std::vector<int>& shape) {
  std::string text = "(None";
  for (int d : shape) text += ", " + std::to_string(d);
  return text + ")";
}

// Keras's glorot_uniform bound: fans from the kernel shape (receptive field times in/out).
double glorot_limit(const std::vector<int>& shape) {
  double receptive = 1;
  for (std::size_t i = 0; i + 2 < shape.size(); ++i) receptive *= shape[i];
  const double fan_in = receptive * shape[shape.size() - 2];
  const double fan_out = receptive * shape.back();
  return std::sqrt(6.0 / (fan_in + fan_out));
}

}  // namespace

const std::vector<TensorSpec>& weight_tensors() {
  static const std::vector<TensorSpec> specs = make_weight_tensors();
  return specs;
}

const std::vector<LayerSpec>& layer_specs() {
  static const std::vector<LayerSpec> specs = {
      {"conv2d", "Conv2D", {26, 26, 32}, 320},
      {"max_pooling2d", "MaxPooling2D", {13, 13, 32}, 0},
      {"conv2d_1", "Conv2D", {11, 11, 64}, 18496},
      {"max_pooling2d_1", "MaxPooling2D", {5, 5, 64}, 0},
      {"conv2d_2", "Conv2D", {3, 3, 64}, 36928},
      {"flatten", "Flatten", {576}, 0},
      {"dense", "Dense", {64}, 36928},
      {"dense_1", "Dense", {10}, 650},
  };
  return specs;
}

std::string model_summary() {
  const std::string rule(74, '_');
  const std::string double_rule(74, '=');
  char line[160];
  std::ostringstream out;
  out << "Model: \"sequential\"\n" << rule << "\n";
  std::snprintf(line, sizeof line, " %-34s%-26s%-12s\n", "Layer (type)", "Output Shape", "Param #");
  out << line << double_rule << "\n";
  const auto& layers = layer_specs();
  std::size_t total = 0;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const LayerSpec& l = layers[i];
    const std::string name = l.name + " (" + l.type + ")";
    std::snprintf(line, sizeof line, " %-34s%-26s%-12s\n", name.c_str(),
                  shape_text(l.output_shape).c_str(), with_commas(l.params).c_str());
    out << line << (i + 1 < layers.size() ? "\n" : "");
    total += l.params;
  }
  out << double_rule << "\n"
      << "Total params: " << with_commas(total) << "\n"
      << "Trainable params: " << with_commas(total) << "\n"
      << "Non-trainable params: 0\n"
      << rule << "\n";
  return out.str();
}

template <typename T>
struct Model<T>::Impl {
  explicit Impl(int n)
      : max_batch(n),
        params(kNumParams, T(0)),
        grads(kNumParams, T(0)),
        conv0({kImage, kImage, 1, 32}, n, false, param(0), param(1), grad(0), grad(1)),
        conv1({13, 13, 32, 64}, n, true, param(2), param(3), grad(2), grad(3)),
        conv2({5, 5, 64, 64}, n, true, param(4), param(5), grad(4), grad(5)),
        dense0(576, 64, true, param(6), param(7), grad(6), grad(7)),
        dense1(64, kClasses, false, param(8), param(9), grad(8), grad(9)),
        p0(buffer(13 * 13 * 32)),
        p1(buffer(5 * 5 * 64)),
        a2(buffer(576)),
        h(buffer(64)),
        logits(buffer(kClasses)),
        dlogits(buffer(kClasses)),
        dh(buffer(64)),
        da2(buffer(576)),
        dp1(buffer(5 * 5 * 64)),
        dp0(buffer(13 * 13 * 32)) {}

  T* param(int tensor) { return params.data() + weight_tensors()[std::size_t(tensor)].offset; }
  T* grad(int tensor) { return grads.data() + weight_tensors()[std::size_t(tensor)].offset; }
  std::vector<T> buffer(std::size_t per_image) const {
    return std::vector<T>(per_image * std::size_t(max_batch));
  }

  void check(int n) const {
    if (n < 0 || n > max_batch) throw std::invalid_argument("Model: batch larger than max_batch");
  }

  void forward(const T* x, int n) {
    conv0.forward(x, p0.data(), n);          // conv2d + max_pooling2d
    conv1.forward(p0.data(), p1.data(), n);  // conv2d_1 + max_pooling2d_1
    conv2.forward(p1.data(), a2.data(), n);
    dense0.forward(a2.data(), h.data(), n);  // flatten: a2 (n, 3, 3, 64) is already (n, 576)
    dense1.forward(h.data(), logits.data(), n);
  }

  void backward(const T* x, const std::uint8_t* labels, int n) {
    softmax_xent_backward(logits.data(), labels, n, kClasses, dlogits.data());
    dense1.backward(h.data(), logits.data(), dlogits.data(), dh.data(), n);
    dense0.backward(a2.data(), h.data(), dh.data(), da2.data(), n);
    conv2.backward(p1.data(), a2.data(), da2.data(), dp1.data(), n);
    conv1.backward(p0.data(), p1.data(), dp1.data(), dp0.data(), n);
    conv0.backward(x, p0.data(), dp0.data(), nullptr, n);
  }

  int max_batch;
  std::vector<T> params;  // (93,322), Keras weight order
  std::vector<T> grads;   // (93,322)
  Conv2DPool<T> conv0;  // conv2d + max_pooling2d
  Conv2DPool<T> conv1;  // conv2d_1 + max_pooling2d_1
  Conv2D<T> conv2;
  Dense<T> dense0;
  Dense<T> dense1;
  std::vector<T> p0;       // (N, 13, 13, 32)
  std::vector<T> p1;       // (N, 5, 5, 64)
  std::vector<T> a2;       // (N, 3, 3, 64) == (N, 576)
  std::vector<T> h;        // (N, 64)
  std::vector<T> logits;   // (N, 10)
  std::vector<T> dlogits;  // (N, 10)
  std::vector<T> dh;       // (N, 64)
  std::vector<T> da2;      // (N, 576)
  std::vector<T> dp1;      // (N, 5, 5, 64)
  std::vector<T> dp0;      // (N, 13, 13, 32)
};

template <typename T>
Model<T>::Model(int max_batch) {
  if (max_batch < 1) throw std::invalid_argument("Model: max_batch must be at least 1");
  impl_ = std::make_unique<Impl>(max_batch);
}

template <typename T>
Model<T>::~Model() = default;

template <typename T>
int Model<T>::max_batch() const {
  return impl_->max_batch;
}

template <typename T>
T* Model<T>::params() {
  return impl_->params.data();
}

template <typename T>
const T* Model<T>::params() const {
  return impl_->params.data();
}

template <typename T>
T* Model<T>::grads() {
  return impl_->grads.data();
}

template <typename T>
const T* Model<T>::grads() const {
  return impl_->grads.data();
}

template <typename T>
void Model<T>::init(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (const TensorSpec& t : weight_tensors()) {
    T* w = impl_->params.data() + t.offset;
    if (t.shape.size() == 1) {
      std::fill(w, w + t.size, T(0));
      continue;
    }
    const double limit = glorot_limit(t.shape);
    for (std::size_t i = 0; i < t.size; ++i) {
      const double u = double(rng() >> 11) * 0x1.0p-53;  // uniform in [0, 1), 53 bits
      w[i] = T(-limit + 2.0 * limit * u);
    }
  }
}

template <typename T>
void Model<T>::zero_grads() {
  std::fill(impl_->grads.begin(), impl_->grads.end(), T(0));
}

template <typename T>
const T* Model<T>::forward(const T* x, int n) {
  impl_->check(n);
  if (n > 0) impl_->forward(x, n);
  return impl_->logits.data();
}

template <typename T>
BatchStats Model<T>::evaluate(const T* x, const std::uint8_t* labels, int n) {
  impl_->check(n);
  for (int i = 0; i < n; ++i) {
    if (labels[i] >= kClasses) throw std::invalid_argument("Model: label out of range 0..9");
  }
  forward(x, n);
  return softmax_xent_forward(impl_->logits.data(), labels, n, kClasses);
}

template <typename T>
BatchStats Model<T>::accumulate_gradients(const T* x, const std::uint8_t* labels, int n) {
  const BatchStats stats = evaluate(x, labels, n);
  if (n > 0) impl_->backward(x, labels, n);
  return stats;
}

template class Model<float>;
template class Model<double>;

}  // namespace fmnist
