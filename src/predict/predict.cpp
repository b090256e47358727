// The two ways fmnist_inspect uses a model: --evaluate (the test set: loss, accuracy, confusion
// matrix) and --predict (any images: one row per image with the top 3 classes, then the scores of
// the labelled ones). Both classify, score and draw through the same functions.
#include <algorithm>
#include <cstdio>

#include "fmnist/atomic_file.hpp"
#include "fmnist/error.hpp"
#include "fmnist/predict.hpp"
#include "pictures.hpp"
#include "ranking.hpp"

namespace fmnist {
namespace {

constexpr int kTop = 3;  // classes shown per image

bool any_label(const ImageSet& set) {
  return std::any_of(set.labels.begin(), set.labels.end(), [](int l) { return l >= 0; });
}

// A CSV field: quoted when it holds a comma, a quote or a line break (RFC 4180).
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char ch : text) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return out + "\"";
}

// "source,true,predicted,probability,top2,probability2,top3,probability3" and one row per image.
std::string predictions_csv(const ImageSet& set, const std::vector<float>& logits, int classes,
                            const std::vector<std::string>& names) {
  std::string out = "source,true,predicted,probability,top2,probability2,top3,probability3\n";
  char number[32];
  for (std::size_t i = 0; i < set.size(); ++i) {
    const std::vector<double> p = detail::probabilities(logits.data() + i * std::size_t(classes), classes);
    const std::vector<int> top = detail::top_classes(p, kTop);
    out += csv_field(set.sources[i]) + "," + (set.labels[i] >= 0 ? names[std::size_t(set.labels[i])] : "");
    for (std::size_t rank = 0; rank < std::size_t(kTop); ++rank) {
      if (rank < top.size()) {
        const std::size_t c = std::size_t(top[rank]);
        std::snprintf(number, sizeof number, ",%.6f", p[c]);
        out += ',';
        out += names[c];
        out += number;
      } else {
        out += ",,";  // fewer classes than kTop
      }
    }
    out += "\n";
  }
  return out;
}

// The same rows as an aligned table for the terminal.
std::string predictions_table(const ImageSet& set, const std::vector<float>& logits, int classes,
                              const std::vector<std::string>& names) {
  const bool labelled = any_label(set);
  std::size_t source_width = 6, name_width = 9;
  for (const std::string& s : set.sources) source_width = std::max(source_width, s.size());
  for (const std::string& n : names) name_width = std::max(name_width, n.size());
  const int sw = static_cast<int>(source_width), nw = static_cast<int>(name_width);
  char line[1024];
  std::snprintf(line, sizeof line, "%-*s  %-*s%-*s  %-11s  top %d\n", sw, "source", labelled ? nw + 2 : 0,
                labelled ? "true" : "", nw, "predicted", "probability", kTop);
  std::string out = line;
  for (std::size_t i = 0; i < set.size(); ++i) {
    const std::vector<double> p = detail::probabilities(logits.data() + i * std::size_t(classes), classes);
    const std::vector<int> top = detail::top_classes(p, kTop);
    const std::string truth = set.labels[i] >= 0 ? names[std::size_t(set.labels[i])] : "-";
    std::string ranking;
    for (int c : top) {
      std::snprintf(line, sizeof line, "%s%s %.3f", ranking.empty() ? "" : ", ", names[std::size_t(c)].c_str(),
                    p[std::size_t(c)]);
      ranking += line;
    }
    out += set.sources[i] + std::string(source_width - set.sources[i].size() + 2, ' ');
    if (labelled) out += truth + std::string(name_width - truth.size() + 2, ' ');
    std::snprintf(line, sizeof line, "%-*s  %-11.4f  ", nw, names[std::size_t(top[0])].c_str(), p[std::size_t(top[0])]);
    out += line + ranking + "\n";
  }
  return out;
}

}  // namespace

Scores evaluate_test_set(Classifier& classifier, const Dataset& test, const Pictures& pictures,
                         const std::string& title) {
  const ModelInput& in = classifier.input();
  if (in.height != kImageRows || in.width != kImageCols || in.channels != 1) {
    throw Error(Exit::data, "the test set holds 28x28 grey images, but the model takes " + std::to_string(in.height) +
                                "x" + std::to_string(in.width) + "x" + std::to_string(in.channels));
  }
  ImageSet set;
  set.pixels = test.images;
  set.labels.assign(test.labels.begin(), test.labels.end());
  for (std::size_t i = 0; i < test.size(); ++i) set.sources.push_back("test image " + std::to_string(i));
  const std::vector<float> logits = classifier.logits(set.pixels.data(), set.size());
  const Scores scores = score(logits, set.labels, in.classes);
  detail::draw_pictures(set, logits, scores, in, classifier.class_names(), pictures, title);
  return scores;
}

Scores predict(Classifier& classifier, const PredictOptions& options) {
  const ModelInput& in = classifier.input();
  const std::vector<std::string>& names = classifier.class_names();
  const ImageSet set = read_inputs(options.inputs, in, options.invert);
  if (options.pictures.any() && !any_label(set)) {
    throw Error(Exit::usage, "--plot-confusion and --plot-errors need labelled images: an IDX file with its labels, a "
                             "CSV with the label column, or class subfolders");
  }
  const std::vector<float> logits = classifier.logits(set.pixels.data(), set.size());
  if (options.csv.empty()) {
    std::fputs(predictions_table(set, logits, in.classes, names).c_str(), stdout);
  } else {
    write_file_atomically(options.csv, predictions_csv(set, logits, in.classes, names));
    std::printf("Wrote %zu predictions to %s\n", set.size(), options.csv.c_str());
  }
  const auto write_npy = [&](const std::string& path, const std::vector<float>& values, const char* what) {
    if (path.empty()) return;
    write_file_atomically(path, npy_float32(values, set.size(), std::size_t(in.classes)));
    std::printf("Wrote the %s of %zu images to %s\n", what, set.size(), path.c_str());
  };
  write_npy(options.outputs, model_outputs(logits, in), "outputs");
  write_npy(options.logits, logits, "logits");
  const Scores scores = score(logits, set.labels, in.classes);
  if (scores.samples > 0) {
    std::printf("\nLabelled images: %zu of %zu\nloss: %.4f - accuracy: %.4f\n\n%s", scores.samples, set.size(),
                scores.loss, scores.accuracy, confusion_text(scores, names).c_str());
    detail::draw_pictures(set, logits, scores, in, names, options.pictures, "the labelled inputs");
  }
  return scores;
}

}  // namespace fmnist
