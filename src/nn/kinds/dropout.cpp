// Dropout (docs/models.md: Models; docs/computing.md: Dropout): Keras's inverted dropout in
// training, whose masks come from --seed and each sample's position in the global batch; the
// identity in evaluation and in ONNX. Its row of the layer registry; the kernel is src/nn/dropout.cpp.
#include <ostream>

#include "../keras_fields.hpp"
#include "../registry.hpp"

namespace fmnist {
namespace {
namespace dropout_kind {  // a name of its own: src/nn/kinds/*.cpp compile as one unit

void read(KerasFields& f, LayerSpec& l) {
  const nlohmann::json& rate = f.require("rate");
  if (!rate.is_number()) f.fail("rate", value_text(rate), "is not a number");
  l.rate = rate.get<double>();
  if (!(l.rate >= 0 && l.rate < 1)) f.fail("rate", value_text(rate), "is out of range [0, 1)");
  f.find("seed");  // masks come from --seed (docs/models.md: Models)
}

void write(const LayerSpec& l, const Shape*, nlohmann::ordered_json& c) {
  c["rate"] = l.rate;
  c["noise_shape"] = nullptr;
  c["seed"] = nullptr;
}

Shape shape(const LayerCheck& check, const LayerSpec& l, std::span<const Shape> inputs) {
  if (!(l.rate >= 0 && l.rate < 1)) check.fail("rate", std::to_string(l.rate), "is out of range [0, 1)");
  return inputs[0];
}

void describe(const LayerSpec& l, std::ostream& out) { out << " rate " << l.rate; }

template <typename T>
BuiltLayer<T> make(const LayerBuild<T>& b) {
  return own<T>(std::make_unique<Dropout<T>>(b.layer.spec().rate, shape_size(b.layer.plan().input_shape), b.layer.index,
                                             b.max_batch));
}

}  // namespace dropout_kind
}  // namespace

extern const LayerKindRow dropout_row = {.kind = LayerKind::dropout,
                                         .keras_class = "Dropout",
                                         .base_name = "dropout",
                                         FMNIST_KIND_FUNCTIONS(dropout_kind, ),
                                         .describe = dropout_kind::describe,
                                         .pass_through = true,
                                         .training_differs = true};

}  // namespace fmnist
