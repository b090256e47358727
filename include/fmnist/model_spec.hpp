// The model as data (docs/models.md: Models): a Keras Sequential model (a chain of layer specs) or a
// Functional one (a graph: each layer names the layers it takes), read from and written back as the
// JSON of Keras's model.to_json(), and the one planning pass that derives everything else from it:
// each layer's inputs, consumers and output shape, the weight tensors with their Keras names,
// shapes and offsets in the parameter and gradient arenas, and the parameter count.
// A bad spec throws Error(Exit::usage, "<source>: layer <i> '<name>' (<Class>): field '<f>': ...").
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace fmnist {

// The layer kinds: each is one row of the layer registry (src/nn/registry.cpp), which holds all
// there is to know about it (docs/contributing.md: Adding a layer kind). `count` is not a kind:
// it counts them, so that a table listing every kind can be checked at compile time.
enum class LayerKind {
  conv2d, max_pooling2d, average_pooling2d, flatten, dense, dropout, activation, batch_normalization,
  random_flip, random_translation, random_rotation, random_zoom,  // augmentation (training only)
  re_lu, leaky_re_lu, elu, softmax,                                // activation layers (ReLU, LeakyReLU, ELU, Softmax)
  global_average_pooling2d, global_max_pooling2d, zero_padding2d,
  add, subtract, multiply, average, maximum, minimum, concatenate,  // merge layers (Functional models)
  depthwise_conv2d, separable_conv2d,  // depthwise convolutions
  count
};
inline constexpr std::size_t kLayerKindCount = static_cast<std::size_t>(LayerKind::count);

// The settings' choices, each ending in `count` (not a value: their number, for the name tables).
// Activation: Keras's activation functions (docs/models.md: Activations); swish is also read as silu.
enum class Activation {
  linear, relu, softmax,
  relu6, leaky_relu, elu, selu, gelu, swish, sigmoid, tanh, softplus, softsign, hard_sigmoid, exponential,
  count
};
enum class Padding { valid, same, count };
enum class Initializer {
  glorot_uniform, he_uniform, he_normal, zeros, ones,
  glorot_normal, lecun_uniform, lecun_normal, random_normal, random_uniform, truncated_normal, orthogonal, constant,
  count
};
// Augmentation settings, as Keras names them (src/nn/augment.cpp: their exact meaning).
enum class FlipMode { horizontal, vertical, horizontal_and_vertical, count };
enum class FillMode { reflect, wrap, constant, nearest, count };
enum class Interpolation { bilinear, nearest, count };

// Keras's names of an enum's values, one table per enum: KerasNames<E>::names[i] names the value i.
template <typename E>
struct KerasNames;
template <>
struct KerasNames<Activation> {
  static constexpr std::array names{"linear",   "relu", "softmax",  "relu6",    "leaky_relu",   "elu",
                                    "selu",     "gelu", "swish",    "sigmoid",  "tanh",         "softplus",
                                    "softsign", "hard_sigmoid",     "exponential"};
};
template <>
struct KerasNames<Padding> {
  static constexpr std::array names{"valid", "same"};
};
template <>
struct KerasNames<Initializer> {
  static constexpr std::array names{"glorot_uniform", "he_uniform",     "he_normal",     "zeros",
                                    "ones",           "glorot_normal",  "lecun_uniform", "lecun_normal",
                                    "random_normal",  "random_uniform", "truncated_normal", "orthogonal",
                                    "constant"};
};
template <>
struct KerasNames<FlipMode> {
  static constexpr std::array names{"horizontal", "vertical", "horizontal_and_vertical"};
};
template <>
struct KerasNames<FillMode> {
  static constexpr std::array names{"reflect", "wrap", "constant", "nearest"};
};
template <>
struct KerasNames<Interpolation> {
  static constexpr std::array names{"bilinear", "nearest"};
};
template <typename E>
concept KerasNamed = std::is_enum_v<E> && requires { KerasNames<E>::names; };
// Each table names every value of its enum.
template <KerasNamed E>
inline constexpr bool kNamesEveryValue = KerasNames<E>::names.size() == static_cast<std::size_t>(E::count);
static_assert(kNamesEveryValue<Activation> && kNamesEveryValue<Padding> && kNamesEveryValue<Initializer> &&
              kNamesEveryValue<FlipMode> && kNamesEveryValue<FillMode> && kNamesEveryValue<Interpolation>);

// Keras's name of a value: "relu", "same", "glorot_uniform" ("?" for `count` or out of range).
template <KerasNamed E>
constexpr const char* keras_name(E value) {
  const auto i = static_cast<std::size_t>(value);
  return i < KerasNames<E>::names.size() ? KerasNames<E>::names[i] : "?";
}
// Keras's class name of a kind, from its registry row: "Conv2D".
const char* keras_name(LayerKind kind);

// Whether the kind is one of the augmentation layers (RandomFlip, RandomTranslation,
// RandomRotation, RandomZoom): identity in evaluation, random per image in training.
bool is_augmentation(LayerKind kind);

// The settings of an augmentation layer (Keras's defaults). A factor range is (lower, upper),
// lower <= upper, each in [-1, 1]: Keras's float f means (-|f|, |f|).
struct AugmentSpec {
  FlipMode mode = FlipMode::horizontal_and_vertical;  // RandomFlip
  std::array<double, 2> height{0, 0};  // RandomTranslation/RandomZoom height_factor; RandomRotation factor (of 2 pi)
  std::array<double, 2> width{0, 0};   // RandomTranslation/RandomZoom width_factor
  bool width_is_height = false;        // RandomZoom width_factor None: the width zoom is the height zoom
  FillMode fill_mode = FillMode::reflect;
  Interpolation interpolation = Interpolation::bilinear;
  double fill_value = 0;  // read where fill_mode is constant

  bool operator==(const AugmentSpec&) const = default;
};

// An initializer's arguments (Keras's defaults); each initializer reads only its own, so the others
// keep their defaults and two specs of the same initializer compare equal.
struct InitializerArgs {
  double mean = 0, stddev = 0.05;        // random_normal, truncated_normal
  double minval = -0.05, maxval = 0.05;  // random_uniform
  double gain = 1;                       // orthogonal
  double value = 0;                      // constant

  bool operator==(const InitializerArgs&) const = default;
};
// A weight regularizer (docs/training.md: Regularization): adds l1 * sum|w| + l2 * sum w^2 to the loss,
// Keras's L1, L2 and L1L2 alike (keras/src/regularizers/regularizers.py). Both 0: none.
struct Regularizer {
  double l1 = 0;
  double l2 = 0;

  bool any() const { return l1 != 0 || l2 != 0; }
  bool operator==(const Regularizer&) const = default;
};
// A layer's regularizer fields as read ("kernel_regularizer", ...), in the JSON's field order.
using Regularizers = std::vector<std::pair<std::string, Regularizer>>;
// The regularizer of field `key` (none when the layer has none there).
Regularizer regularizer_of(const Regularizers& regularizers, const std::string& key);

// The input of a Functional model, where LayerSpec::inputs names a layer by its index.
inline constexpr int kModelInput = -1;

// One layer after the InputLayer. Which fields count depends on the kind (the rest keep their
// defaults): Conv2D: units (filters), kernel, strides, padding, dilation, activation, use_bias,
// kernel_initializer; MaxPooling2D/AveragePooling2D: kernel (pool_size), strides, padding; Dense:
// units, activation, use_bias, kernel_initializer; Dropout: rate; Activation: activation;
// BatchNormalization: axis, momentum, epsilon, center, scale, norm_initializers; DepthwiseConv2D:
// kernel, strides, padding, dilation, depth_multiplier, activation, use_bias, kernel_initializer
// (Keras's depthwise_initializer); SeparableConv2D: those and units (filters), pointwise_initializer.
// Biases always start at zero (Keras's bias_initializer "zeros", the only one supported).
// RandomFlip, RandomTranslation, RandomRotation, RandomZoom: augment. ReLU: relu_max_value,
// negative_slope, threshold; LeakyReLU: negative_slope; ELU: elu_alpha; Softmax: activation softmax
// (its reader sets it); GlobalAveragePooling2D, GlobalMaxPooling2D: keepdims; ZeroPadding2D: pads;
// Concatenate: axis.
// inputs: in a Functional model, the layers this one is called on, in the call's order, as
// indexes into ModelSpec::layers, each before this one (kModelInput: the InputLayer); empty in a
// Sequential model, where each layer takes the one before it.
struct LayerSpec {
  LayerKind kind = LayerKind::dense;
  std::string name;                 // Keras's layer name: "conv2d", "dense_1", ...
  int units = 0;                    // Conv2D and SeparableConv2D filters, Dense units
  std::array<int, 2> kernel{1, 1};  // convolutions' kernel_size, pooling pool_size: (h, w)
  std::array<int, 2> strides{1, 1};
  Padding padding = Padding::valid;
  Activation activation = Activation::linear;
  bool use_bias = true;
  Initializer kernel_initializer = Initializer::glorot_uniform;
  double rate = 0;                  // Dropout
  // BatchNormalization (Keras's defaults). axis: -1 or the resolved channels axis of the input
  // with its batch dimension (3 after a Conv2D or pooling, 1 after a Dense); nothing else.
  int axis = -1;
  double momentum = 0.99;
  double epsilon = 1e-3;
  bool center = true;   // beta
  bool scale = true;    // gamma
  // gamma, beta, moving_mean, moving_variance initializers: zeros or ones.
  std::array<Initializer, 4> norm_initializers{Initializer::ones, Initializer::zeros, Initializer::zeros,
                                               Initializer::ones};
  AugmentSpec augment;              // the augmentation layers
  // Activations, initializers' arguments, activation layers, global pooling and zero padding
  // (Keras's defaults; docs/models.md: Activations, Initializers):
  bool gelu_approximate = false;     // activation gelu: the tanh form (Keras's approximate=True)
  bool hard_sigmoid_keras3 = false;  // activation hard_sigmoid: Keras 3's relu6(x + 3) / 6, else
                                     // Keras 2's clip(0.2x + 0.5, 0, 1)
  InitializerArgs kernel_initializer_args;
  Initializer bias_initializer = Initializer::zeros;
  InitializerArgs bias_initializer_args;
  std::optional<double> relu_max_value;  // ReLU max_value (none: no ceiling)
  double negative_slope = 0;             // ReLU negative_slope; LeakyReLU alpha (Keras 3: negative_slope)
  double threshold = 0;                  // ReLU threshold
  double elu_alpha = 1;                  // ELU alpha
  bool keepdims = false;                 // GlobalAveragePooling2D, GlobalMaxPooling2D
  std::array<int, 4> pads{1, 1, 1, 1};   // ZeroPadding2D: top, bottom, left, right
  // Dilated and depthwise convolutions (Keras's defaults): Conv2D, DepthwiseConv2D and
  // SeparableConv2D's dilation_rate (h, w); the depthwise kernel's depth_multiplier (output channels
  // per input channel); SeparableConv2D's pointwise_initializer (its depthwise one is kernel_initializer).
  std::array<int, 2> dilation{1, 1};
  int depth_multiplier = 1;
  Initializer pointwise_initializer = Initializer::glorot_uniform;
  // The weights' regularizers by field (kernel_regularizer, bias_regularizer, depthwise_regularizer,
  // pointwise_regularizer, gamma_regularizer, beta_regularizer): which weight each one goes with is
  // the kind's weight rule (WeightSpec::regularizer, src/nn/registry.hpp).
  Regularizers regularizers;
  std::vector<int> inputs;          // Functional models (above)

  bool operator==(const LayerSpec&) const = default;
};

struct ModelSpec {
  std::string source = "the model";  // where it came from, for messages: a file name
  std::string name = "sequential";
  std::string input_name = "input_1";   // the InputLayer's name
  std::array<int, 3> input_shape{0, 0, 0};  // (h, w, c), without the batch dimension
  // In order, without the InputLayer. A Functional model's are in the order of Keras's
  // model.layers (by depth from the output, then by a depth-first walk from it: one of the
  // graph's topological orders, the output last), whatever order its JSON had.
  std::vector<LayerSpec> layers;
  bool explicit_input = true;           // the JSON had an InputLayer: layer i is JSON layer i + 1
  bool functional = false;              // Keras's Functional model (a graph): written back as one
  // Where the InputLayer, then each layer, sat in the JSON's config.layers, for messages, when a
  // Functional JSON listed them in another order than Keras's; empty otherwise.
  std::vector<std::size_t> positions;
};

// The layers that layer i takes, in the call's order: its inputs in a Functional model, the layer
// before it (kModelInput for the first) in a Sequential one.
std::vector<int> layer_inputs(const ModelSpec& spec, std::size_t i);

// The names of Keras's model.layers, which its legacy HDF5 weights list as layer_names: a
// Functional model's begin with its InputLayer, a Sequential model's do not.
std::vector<std::string> keras_layer_names(const ModelSpec& spec);

// The tutorial's model (docs/computing.md): conv2d 32 -> max_pooling2d -> conv2d_1 64 ->
// max_pooling2d_1 -> conv2d_2 64 -> flatten -> dense 64 -> dense_1 10 softmax; 93,322 parameters.
ModelSpec tutorial_model_spec();

// Output size of a window of k with stride s over n pixels, as TensorFlow computes it:
// valid: (n - k) / s + 1 (0 when k > n); same: ceil(n / s).
int window_output_size(int n, int k, int s, Padding padding);
// Padding before the first pixel (top or left): TensorFlow puts the odd extra pixel after.
int window_pad_before(int n, int k, int s, Padding padding);

// One weight tensor inside the parameter arena, in Keras's legacy HDF5 naming.
struct TensorSpec {
  std::size_t layer = 0;   // index into ModelSpec::layers
  std::string name;        // "conv2d/kernel:0", "conv2d/bias:0"
  std::vector<int> shape;  // kernel (kh, kw, in, out) or (in, out); bias (out)
  std::size_t offset = 0;  // first element in the arena
  std::size_t size = 0;    // number of elements
  Initializer initializer = Initializer::zeros;
  bool trainable = true;   // false: BatchNormalization's moving statistics (their gradient is always 0)
  InitializerArgs initializer_args;  // the initializer's arguments (random_normal's mean, ...)
  Regularizer regularizer;           // its penalty in the loss (none: both factors 0)
};

struct LayerPlan {
  std::vector<int> input_shape;   // the first input's, without the batch dimension: (h, w, c) or (n)
  std::vector<std::vector<int>> input_shapes;  // every input's, in the call's order
  std::vector<int> inputs;                     // layer_inputs(): index into layers, or kModelInput
  std::vector<std::size_t> consumers;          // the layers that take its output, ascending (one
                                               // that takes it twice is listed twice)
  std::vector<int> output_shape;
  std::size_t params = 0;
  std::vector<std::size_t> tensors;  // indexes into ModelPlan::tensors: kernel, then bias (or
                                     // BatchNormalization's gamma, beta, moving_mean, moving_variance)
};

// Everything derived from a spec, computed once by plan_model.
struct ModelPlan {
  ModelSpec spec;
  std::vector<LayerPlan> layers;     // parallel to spec.layers
  std::vector<TensorSpec> tensors;   // arena order: each layer's kernel, then its bias
  std::size_t num_params = 0;
  std::size_t trainable_params = 0;       // num_params less the moving statistics
  std::size_t activations_per_image = 0;  // values of every layer output for one image
  int classes() const { return layers.back().output_shape[0]; }
  // Keras's output is softmax probabilities (we train on the logits before it either way).
  bool softmax_output() const;
};

// A range [begin, end) of the parameter arena.
struct ParamRange {
  std::size_t begin = 0, end = 0;
};
// The trainable tensors of a plan (all but BatchNormalization's moving statistics), adjacent ones
// joined: what weight decay applies to (fmnist/optimizer.hpp).
std::vector<ParamRange> trainable_ranges(const ModelPlan& plan);

// Limits of a spec, so that an absurd one is refused before any memory is touched.
inline constexpr std::size_t kMaxLayers = 256;
inline constexpr int kMaxUnits = 16384;             // filters, Dense units, depthwise output channels
inline constexpr int kMaxWindow = 1024;             // kernel, pool and stride sizes
inline constexpr std::size_t kMaxPatch = 16384;     // kh * kw * input channels of a Conv2D
inline constexpr std::size_t kMaxParams = std::size_t{1} << 25;              // 33,554,432
inline constexpr std::size_t kMaxActivationsPerImage = std::size_t{1} << 22;  // 4,194,304

// Checks the spec (shapes fit, sizes within the limits, softmax only at the end, unique names; a
// Functional graph with its inputs before each layer, every layer leading to the last one, the
// output, and merge layers alone taking several inputs) and derives the plan. Throws Error(Exit::usage) naming spec.source, the layer and the field.
ModelPlan plan_model(const ModelSpec& spec);

// Throws Error(Exit::usage) unless the model reads images of `input` (h, w, c) and ends in
// `classes` outputs.
void require_data_shape(const ModelPlan& plan, const std::array<int, 3>& input, int classes);

// Parses the JSON of Keras's model.to_json() for a Sequential or a Functional model (one input, one
// output, each layer called once), Keras 2.x or Keras 3 form, and plans it (plan_model's checks). `source` names the text in messages (a file name).
// Throws Error(Exit::usage): malformed JSON with line and column, or the layer, field and value.
ModelSpec parse_keras_json(const std::string& text, const std::string& source);
// Reads and parses a JSON file; a missing or unreadable file is Error(Exit::usage) too.
ModelSpec read_keras_json(const std::string& path);

// The spec as Keras 2 JSON: {"class_name": "Sequential", "config": {"name", "layers": [InputLayer
// with batch_input_shape, ...]}}, or for a Functional model {"class_name": "Functional", "config":
// {"name", "layers": [each with "name" and "inbound_nodes"], "input_layers", "output_layers"}},
// which Keras 2.x, Keras 3 and TensorFlow.js all load. indent < 0: one line; else pretty-printed
// with that many spaces per level (--print-model).
std::string to_keras_json(const ModelSpec& spec, int indent = -1);

// An optimizer as Keras serializes it in optimizer_config: its class and config values, in order.
struct KerasOptimizerConfig {
  std::string class_name;                              // "RMSprop", "Adam", "SGD"
  std::vector<std::pair<std::string, double>> values;  // "learning_rate", "rho", ...
  std::vector<std::pair<std::string, bool>> flags;     // "centered", ...
};

// The training_config Keras's legacy loader compiles the model with: loss categorical
// cross-entropy (from the logits unless the model ends in softmax), metrics ["accuracy"],
// loss_weights, weighted_metrics and sample_weight_mode null, and the optimizer.
// label_smoothing: the loss's (0: none; then the plain "categorical_crossentropy" for a softmax model).
std::string keras_training_config(const ModelSpec& spec, const KerasOptimizerConfig& optimizer,
                                  double label_smoothing = 0);

// "Conv2D 32 3x3 stride 1x1 valid relu glorot_uniform": the layer's maths, for messages.
std::string describe(const LayerSpec& layer);
// The JSON position of spec.layers[i], as messages count: "layer 3 'conv2d_1' (Conv2D)".
std::string layer_label(const ModelSpec& spec, std::size_t i);
// Layers named by indexes into spec.layers (kModelInput: the InputLayer), as messages quote them:
// ['conv2d', 'input_1'].
std::string inputs_text(const ModelSpec& spec, const std::vector<int>& inputs);
// The first layer whose maths or inputs differ between two specs (names aside; a Sequential model
// and the same chain written as a Functional one are the same), as "layer ... is X in <a.source>
// but Y in <b.source>"; "" when the architectures are the same.
std::string first_difference(const ModelSpec& a, const ModelSpec& b);

// Keras-like summary table (layers, output shapes, parameters, total; a Functional model's with
// its InputLayer and each layer's inputs, "Connected to", as Keras prints it).
std::string model_summary(const ModelPlan& plan);

}  // namespace fmnist
