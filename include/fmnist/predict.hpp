// Using a trained model (docs/predicting.md): the classifier built from a
// checkpoint, images from IDX, Kaggle CSV and picture files (decoded by OpenCV, the only module that
// sees it), one evaluation (loss, accuracy, confusion matrix) shared by --evaluate and --predict,
// and the pictures: the confusion matrix as a heat map and the most confident errors as a grid.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fmnist/checkpoint.hpp"
#include "fmnist/data.hpp"

namespace fmnist {

// What the model takes and gives: images (height, width, channels) of bytes 0..255, scaled by
// 1/255 on the way in, and one logit per class out.
struct ModelInput {
  int height = 0, width = 0, channels = 0;
  int classes = 0;
  bool softmax_output = false;  // the model's output (as Keras computes it) is softmax(logits)
  std::size_t pixels() const { return std::size_t(height) * std::size_t(width) * std::size_t(channels); }
};

class Classifier {
 public:
  struct Impl;
  explicit Classifier(std::unique_ptr<Impl> impl);
  ~Classifier();
  Classifier(Classifier&&) noexcept;

  const ModelInput& input() const;
  const std::vector<std::string>& class_names() const;  // (classes)
  // pixels (n, height, width, channels) -> logits (n, classes), in chunks of a fixed size
  // shared out over the cores, so the result does not depend on the number of cores.
  std::vector<float> logits(const std::uint8_t* pixels, std::size_t n);

 private:
  std::unique_ptr<Impl> impl_;
};

// The one place where the Model is built from a checkpoint.
Classifier load_classifier(const Checkpoint& checkpoint);
// Fashion-MNIST's class names for 10 classes; "class i" for any other number.
std::vector<std::string> class_names(int classes);

// Images ready for the model, where each came from and its label where known.
struct ImageSet {
  std::vector<std::uint8_t> pixels;  // (n, height, width, channels) of the model's input
  std::vector<int> labels;           // (n), -1 where unknown
  std::vector<std::string> sources;  // (n): "file", or "file:i" for the i-th record (0-based) of an IDX or CSV
  std::size_t size() const { return labels.size(); }
};

// Loss, accuracy and the confusion matrix over the labelled images of a set.
struct Scores {
  std::size_t samples = 0;            // labelled images
  double loss = 0, accuracy = 0;      // softmax cross-entropy mean, argmax accuracy
  int classes = 0;
  std::vector<std::int64_t> confusion;  // (classes, classes): [true][predicted]
  std::int64_t count(int true_class, int predicted) const { return confusion[std::size_t(true_class * classes + predicted)]; }
};
Scores score(const std::vector<float>& logits, const std::vector<int>& labels, int classes);
// The confusion matrix as a table, rows the true class, one line per class.
std::string confusion_text(const Scores& s, const std::vector<std::string>& class_names);

// Pictures of a labelled evaluation; an empty path means "not asked for". fmnist_inspect's
// options check the names (src/cli/inspect_options.cpp).
struct Pictures {
  std::string confusion_svg;  // the confusion matrix as a heat map: .svg
  std::string errors;         // the 36 most confidently wrong images as a grid: .png or .svg
  bool any() const { return !confusion_svg.empty() || !errors.empty(); }
};

// --evaluate: scores the test set and draws the pictures asked for.
Scores evaluate_test_set(Classifier& classifier, const Dataset& test, const Pictures& pictures,
                         const std::string& title);

// How --predict handles photos of dark objects on light backgrounds (Fashion-MNIST's images are
// light objects on black): invert them always, never, or when the image's border is light.
enum class Invert { automatic, yes, no };

struct PredictOptions {
  std::vector<std::string> inputs;  // files (IDX, CSV, pictures) and folders of pictures
  Invert invert = Invert::automatic;
  std::string csv;                  // write the rows here instead of standard output
  std::string outputs;              // write the model's outputs here as .npy: float32 (n, classes)
  std::string logits;               // write the logits here as .npy: float32 (n, classes)
  Pictures pictures;
};

// --predict: reads every input (a bad one ends it with Error(Exit::data) naming the file),
// prints or writes one row per image, then the accuracy and confusion matrix of the labelled
// ones, and draws the pictures asked for. Returns the scores (samples 0 without labels).
Scores predict(Classifier& classifier, const PredictOptions& options);

// The model's outputs as Keras computes them from the logits (n, classes): softmax
// probabilities when the model ends in softmax, else the logits themselves.
std::vector<float> model_outputs(const std::vector<float>& logits, const ModelInput& input);
// A float32 (rows, cols) array in NumPy's .npy format (version 1.0, little-endian, C order).
std::string npy_float32(const std::vector<float>& values, std::size_t rows, std::size_t cols);

// The inputs of --predict as images of the model's input size (exposed for the tests).
ImageSet read_inputs(const std::vector<std::string>& inputs, const ModelInput& input, Invert invert);
// The most pixels a picture may have once padded to the model's aspect ratio (its largest copy, made
// before resizing): 67,108,864, e.g. 8192 x 8192 for a square model. Checked from the file's header
// before decoding, so a 100000 x 1 picture is refused at once instead of needing gigabytes.
inline constexpr std::uint64_t kMaxPicturePixels = std::uint64_t{1} << 26;
// One picture file (PNG, JPEG, PNM, BMP, TIFF, WebP, as OpenCV's imgcodecs reads them), as the
// model's input: grey, padded to the model's aspect ratio, resized, inverted as `invert` says.
// Error(Exit::data) naming the file for anything but a regular file, a size past kMaxPicturePixels,
// or a picture OpenCV cannot decode or convert.
std::vector<std::uint8_t> read_picture(const std::string& path, const ModelInput& input, Invert invert);

}  // namespace fmnist
