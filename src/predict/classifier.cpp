// The classifier: the Model built from a checkpoint's spec and weights (load_classifier is the one
// place a Model is made for inference), fed bytes scaled by 1/255 in fixed chunks of at most 500
// images (fewer for models with large activations), one model replica per core. The chunks depend
// on the model alone, not on the number of cores, so neither do the logits.
#include <algorithm>
#include <atomic>
#include <exception>
#include <functional>
#include <thread>

#include "fmnist/error.hpp"
#include "fmnist/model.hpp"
#include "fmnist/model_spec.hpp"
#include "fmnist/predict.hpp"

namespace fmnist {
namespace {

constexpr int kMaxChunk = 500;                              // images per forward pass, at most
constexpr std::size_t kChunkValues = std::size_t{1} << 26;  // layer outputs per forward pass, at most

// One model replica and its input buffer, for one thread.
struct Replica {
  std::unique_ptr<Model<float>> model;
  std::vector<float> x;  // (chunk, height, width, channels)
};

}  // namespace

struct Classifier::Impl {
  ModelInput input;
  int chunk = 1;                                          // images per forward pass
  std::vector<std::string> class_names;                   // (classes)
  std::function<std::unique_ptr<Model<float>>()> make_model;  // a model with the checkpoint's weights
  std::vector<std::unique_ptr<Replica>> replicas;         // made on first use, at most one per core

  Replica& replica(std::size_t i) {
    while (replicas.size() <= i) {
      replicas.push_back(std::make_unique<Replica>(Replica{make_model(), std::vector<float>(std::size_t(chunk) * input.pixels())}));
    }
    return *replicas[i];
  }
};

Classifier::Classifier(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Classifier::~Classifier() = default;
Classifier::Classifier(Classifier&&) noexcept = default;

const ModelInput& Classifier::input() const { return impl_->input; }
const std::vector<std::string>& Classifier::class_names() const { return impl_->class_names; }

std::vector<float> Classifier::logits(const std::uint8_t* pixels, std::size_t n) {
  const ModelInput& in = impl_->input;
  const auto classes = std::size_t(in.classes);
  const auto chunk_size = std::size_t(impl_->chunk);
  std::vector<float> out(n * classes);  // (n, classes)
  const std::size_t chunks = (n + chunk_size - 1) / chunk_size;
  const std::size_t threads = std::min<std::size_t>(chunks, std::max(1u, std::thread::hardware_concurrency()));
  std::atomic<std::size_t> next{0};
  std::vector<std::exception_ptr> errors(threads);
  auto work = [&](std::size_t t, Replica& r) {
    try {
      for (std::size_t chunk; (chunk = next++) < chunks;) {
        const std::size_t start = chunk * chunk_size, count = std::min<std::size_t>(chunk_size, n - start);
        scale_pixels(pixels + start * in.pixels(), count * in.pixels(), r.x.data());
        const float* logits = r.model->forward(r.x.data(), static_cast<int>(count));  // (count, classes)
        std::copy_n(logits, count * classes, out.data() + start * classes);
      }
    } catch (...) {
      errors[t] = std::current_exception();
    }
  };
  std::vector<std::thread> helpers;
  for (std::size_t t = 1; t < threads; ++t) helpers.emplace_back(work, t, std::ref(impl_->replica(t)));
  if (threads > 0) work(0, impl_->replica(0));
  for (std::thread& h : helpers) h.join();
  for (const std::exception_ptr& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  return out;
}

std::vector<std::string> class_names(int classes) {
  if (classes == kNumClasses) return {kClassNames.begin(), kClassNames.end()};
  std::vector<std::string> names;
  for (int c = 0; c < classes; ++c) names.push_back("class " + std::to_string(c));
  return names;
}

// The model's input and classes, and how to build it, from the checkpoint's spec (its
// model_config): here and nowhere else.
Classifier load_classifier(const Checkpoint& checkpoint) {
  const ModelPlan plan = plan_model(checkpoint.model);
  auto impl = std::make_unique<Classifier::Impl>();
  const auto& [height, width, channels] = plan.spec.input_shape;
  impl->input = {height, width, channels, plan.classes(), plan.softmax_output()};
  impl->chunk = static_cast<int>(std::clamp<std::size_t>(kChunkValues / plan.activations_per_image, 1, kMaxChunk));
  impl->class_names = class_names(impl->input.classes);
  if (checkpoint.weights.size() != plan.num_params) {
    throw Error(Exit::checkpoint, "the checkpoint holds " + std::to_string(checkpoint.weights.size()) +
                                      " weights, its model has " + std::to_string(plan.num_params));
  }
  impl->make_model = [spec = checkpoint.model, chunk = impl->chunk, weights = checkpoint.weights] {
    auto model = std::make_unique<Model<float>>(spec, chunk);
    std::copy(weights.begin(), weights.end(), model->params());
    return model;
  };
  return Classifier(std::move(impl));
}

}  // namespace fmnist
