// fmnist_inspect FILE: shows what a checkpoint holds (model, training state, history,
// evaluation), verifies it (--verify), evaluates its weights on the test set (--evaluate, with a
// confusion matrix), classifies images (--predict), draws the confusion matrix and the most
// confident errors (--plot-confusion, --plot-errors), exports the history (--csv, --plot,
// --json) and the model as ONNX (--export-onnx). The model is the one the checkpoint's
// model_config describes. Exit codes as README's Exit codes.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <cxxopts.hpp>
#include <optional>
#include <string>
#include <utility>

#include "fmnist/atomic_file.hpp"
#include "fmnist/checkpoint.hpp"
#include "fmnist/data.hpp"
#include "fmnist/error.hpp"
#include "fmnist/export.hpp"
#include "fmnist/model.hpp"
#include "fmnist/predict.hpp"
#include "fmnist/report.hpp"

namespace fmnist {
namespace {

constexpr const char* kDefaultDataDir = "/usr/share/datasets/fashion-mnist";

struct Options {
  std::string file;
  bool verify = false, evaluate = false, json = false;
  std::string data_dir = kDefaultDataDir, test_csv, plot, csv;
  std::string compare;    // another checkpoint to compare the weights with
  std::string onnx;       // --export-onnx: write the model here as ONNX
  double tolerance = 0;   // for --compare: largest |a - b| over largest |a|, per tensor; 0 = same bytes
  Pictures pictures;      // --plot-confusion, --plot-errors (with --evaluate or --predict)
  bool predict = false;   // classify predict_options.inputs; --csv then names the predictions CSV
  PredictOptions predict_options;
  bool show_report() const {
    return !verify && !evaluate && !predict && !json && plot.empty() && csv.empty() && compare.empty() && onnx.empty();
  }
};

cxxopts::Options option_spec() {
  cxxopts::Options spec("fmnist_inspect", "Shows, verifies, evaluates and exports an fmnist_dist checkpoint.");
  spec.positional_help("FILE [--predict INPUT...]");
  spec.add_options()("verify", "Check checksums, shapes and finiteness; exit 4 if anything is wrong")(
      "evaluate", "Compute test loss, accuracy and the confusion matrix from the weights")(
      "data-dir", "IDX folder for --evaluate", cxxopts::value<std::string>()->default_value(kDefaultDataDir))(
      "test-csv", "Kaggle test CSV for --evaluate (instead of --data-dir)", cxxopts::value<std::string>())(
      "predict", "Classify the INPUTs after the checkpoint: IDX or CSV files, pictures (PNG, JPEG, PGM, ...), "
      "folders of pictures")(
      "invert", "For --predict: invert pictures to light-on-dark: auto (when the border is light), yes, no",
      cxxopts::value<std::string>()->default_value("auto"))(
      "plot-confusion", "With --evaluate or --predict: draw the confusion matrix to this SVG file",
      cxxopts::value<std::string>())(
      "plot-errors", "With --evaluate or --predict: draw the 36 most confident errors to this .png or .svg file",
      cxxopts::value<std::string>())(
      "plot", "Write the learning curves to this SVG file", cxxopts::value<std::string>())(
      "csv", "Write the history to this CSV file; with --predict, the predictions instead",
      cxxopts::value<std::string>())(
      "outputs", "With --predict: write the model's outputs (softmax probabilities if it ends in softmax) as a "
      "float32 (N, classes) .npy file", cxxopts::value<std::string>())(
      "logits", "With --predict: write the logits as a float32 (N, classes) .npy file", cxxopts::value<std::string>())(
      "json", "Print everything as one JSON object")(
      "export-onnx", "Write the model with its weights as ONNX to this file (input NHWC float32 in [0, 1]; outputs "
      "'output' and 'logits')", cxxopts::value<std::string>())(
      "compare", "Compare the weights and optimizer state with another checkpoint; exit 1 if they differ",
      cxxopts::value<std::string>())(
      "tolerance", "For --compare: per tensor, largest difference over largest magnitude (0: identical bytes)",
      cxxopts::value<double>()->default_value("0"))("h,help", "Show this help")(
      "file", "Checkpoint", cxxopts::value<std::string>());
  spec.parse_positional({"file"});
  return spec;
}

// --predict's INPUTs (the arguments after the checkpoint), --invert, --outputs and --logits.
void parse_predict_options(const cxxopts::ParseResult& args, PredictOptions& p) {
  p.inputs = args.unmatched();
  if (args.count("outputs")) p.outputs = args["outputs"].as<std::string>();
  if (args.count("logits")) p.logits = args["logits"].as<std::string>();
  if (p.inputs.empty()) throw Error(Exit::usage, "--predict needs at least one INPUT after the checkpoint FILE");
  const std::string invert = args["invert"].as<std::string>();
  if (invert == "auto") {
    p.invert = Invert::automatic;
  } else if (invert == "yes") {
    p.invert = Invert::yes;
  } else if (invert == "no") {
    p.invert = Invert::no;
  } else {
    throw Error(Exit::usage, "--invert must be auto, yes or no, not '" + invert + "'");
  }
}

// Returns nothing after printing --help.
std::optional<Options> parse_options(int argc, char** argv) {
  cxxopts::Options spec = option_spec();
  Options o;
  try {
    const auto args = spec.parse(argc, argv);
    if (args.count("help")) {
      std::printf("%s\nExit codes: 0 ok, 2 bad command line, 3 bad data, 4 bad or corrupt checkpoint.\n",
                  spec.help().c_str());
      return std::nullopt;
    }
    if (!args.count("file")) throw Error(Exit::usage, "missing the checkpoint FILE (see --help)");
    o.predict = args.count("predict") > 0;
    if (!o.predict && !args.unmatched().empty()) {
      throw Error(Exit::usage, "unexpected argument '" + args.unmatched()[0] + "'");
    }
    if (!o.predict && (args.count("outputs") || args.count("logits"))) {
      throw Error(Exit::usage, "--outputs and --logits need --predict");
    }
    if (o.predict) parse_predict_options(args, o.predict_options);
    o.file = args["file"].as<std::string>();
    o.verify = args.count("verify") > 0;
    o.evaluate = args.count("evaluate") > 0;
    o.json = args.count("json") > 0;
    o.data_dir = args["data-dir"].as<std::string>();
    if (args.count("test-csv")) o.test_csv = args["test-csv"].as<std::string>();
    if (args.count("plot")) o.plot = args["plot"].as<std::string>();
    if (args.count("csv")) o.csv = args["csv"].as<std::string>();
    if (args.count("compare")) o.compare = args["compare"].as<std::string>();
    if (args.count("export-onnx")) o.onnx = args["export-onnx"].as<std::string>();
    o.tolerance = args["tolerance"].as<double>();
    if (!(o.tolerance >= 0)) throw Error(Exit::usage, "--tolerance must be 0 or positive");
    if (o.predict && (o.evaluate || o.json || args.count("compare"))) {
      throw Error(Exit::usage, "--predict cannot be combined with --evaluate, --json or --compare");
    }
    if ((args.count("plot-confusion") || args.count("plot-errors")) && !o.evaluate && !o.predict) {
      throw Error(Exit::usage, "--plot-confusion and --plot-errors need --evaluate or --predict");
    }
    if (args.count("plot-confusion")) o.pictures.confusion_svg = args["plot-confusion"].as<std::string>();
    if (args.count("plot-errors")) o.pictures.errors = args["plot-errors"].as<std::string>();
    check_pictures(o.pictures);
    if (o.predict) {
      o.predict_options.pictures = o.pictures;
      o.predict_options.csv = std::exchange(o.csv, "");
    }
    if ((args.count("data-dir") || args.count("test-csv")) && !o.evaluate) {
      throw Error(Exit::usage, "--data-dir and --test-csv need --evaluate");
    }
    if (args.count("data-dir") && args.count("test-csv")) {
      throw Error(Exit::usage, "give either --data-dir or --test-csv, not both");
    }
  } catch (const cxxopts::exceptions::exception& e) {
    throw Error(Exit::usage, e.what());
  }
  return o;
}

// Largest |a - b| over largest |a| (0 when both are zero); with tolerance 0, any difference in
// the bytes counts, so -0.0 against 0.0 or a different NaN is caught.
double relative_difference(const float* a, const float* b, std::size_t n, double tolerance) {
  double largest_difference = 0, largest_magnitude = 0;
  for (std::size_t i = 0; i < n; ++i) {
    largest_difference = std::max(largest_difference, std::abs(double(a[i]) - double(b[i])));
    largest_magnitude = std::max(largest_magnitude, std::abs(double(a[i])));
  }
  if (tolerance == 0 && std::memcmp(a, b, n * sizeof(float)) != 0 && largest_difference == 0) return 1;
  return largest_magnitude > 0 ? largest_difference / largest_magnitude : largest_difference;
}

// Prints one line per tensor and optimizer slot; true when all are within the tolerance.
bool compare_checkpoints(const Checkpoint& a, const Checkpoint& b, const Options& o) {
  bool same = true;
  auto report = [&](const std::string& what, const float* x, const float* y, std::size_t n) {
    const double d = relative_difference(x, y, n, o.tolerance);
    const bool ok = d <= o.tolerance;
    same = same && ok;
    std::printf("  %-28s %12.3e %s\n", what.c_str(), d, ok ? "ok" : "DIFFERS");
  };
  std::printf("Comparing %s with %s (tolerance %g)\n", o.file.c_str(), o.compare.c_str(), o.tolerance);
  const std::string other_model = first_difference(a.model, b.model);
  if (!other_model.empty()) {
    std::printf("  model                        %s DIFFERS\n", other_model.c_str());
    return false;
  }
  for (const TensorSpec& t : plan_model(a.model).tensors)
    report(t.name, a.weights.data() + t.offset, b.weights.data() + t.offset, t.size);
  if (a.optimizer.name != b.optimizer.name || a.optimizer.slots.size() != b.optimizer.slots.size()) {
    std::printf("  optimizer                    %s against %s DIFFERS\n", a.optimizer.name.c_str(),
                b.optimizer.name.c_str());
    return false;
  }
  for (std::size_t i = 0; i < a.optimizer.slots.size(); ++i)
    report("optimizer/" + a.optimizer.slots[i].name, a.optimizer.slots[i].data.data(),
           b.optimizer.slots[i].data.data(), a.optimizer.slots[i].data.size());
  if (a.training.step != b.training.step) {
    std::printf("  steps                        %lld against %lld DIFFERS\n", (long long)a.training.step,
                (long long)b.training.step);
    return false;
  }
  return same;
}

Dataset load_test_set(const Options& o) {
  return o.test_csv.empty() ? read_idx_dir(o.data_dir).test : read_csv(o.test_csv);
}

std::string shape_text(const std::vector<int>& shape) {
  std::string text = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + (shape.size() == 1 ? ",)" : ")");
}

void print_report(const Checkpoint& c) {
  const ModelPlan plan = plan_model(c.model);
  std::printf("%s\nWeight tensors (HDF5 /model_weights/<layer>/<name>):\n", model_summary(plan).c_str());
  for (const TensorSpec& t : plan.tensors) {
    std::printf("  %-20s %-16s %7zu\n", t.name.c_str(), shape_text(t.shape).c_str(), t.size);
  }
  const TrainingState& t = c.training;
  std::printf("\nTraining state\n");
  std::printf("  epochs completed   %lld of %lld\n", (long long)t.epoch, (long long)t.epochs);
  std::printf("  optimizer steps    %lld (%lld in the current epoch)\n", (long long)t.step, (long long)t.step_in_epoch);
  std::printf("  world size         %lld\n  batch size         %lld (global)\n", (long long)t.world_size,
              (long long)t.batch_size);
  std::printf("  seed               %llu (split seed %u, validation split %g)\n", (unsigned long long)t.seed,
              t.split_seed, t.val_split);
  std::printf("  optimizer          %s%s, lr %g, %lld iterations, slots:", to_text(t.optimizer).c_str(),
              t.optimizer == OptimizerKind::rmsprop ? (" (" + to_text(t.rmsprop_form) + " form)").c_str() : "", t.lr,
              (long long)c.optimizer.iterations);
  for (const OptimizerSlot& s : c.optimizer.slots) std::printf(" %s", s.name.c_str());
  std::printf("\n  training samples   %lld (data fingerprint %016llx)\n", (long long)t.num_train,
              (unsigned long long)t.data_fingerprint);
  if (t.epoch_samples > 0) {
    std::printf("  current epoch      %lld samples so far, loss %.4f, accuracy %.4f\n", (long long)t.epoch_samples,
                t.epoch_loss_sum / double(t.epoch_samples), double(t.epoch_correct) / double(t.epoch_samples));
  }
  if (c.history.epochs() > 0) std::printf("  best val_loss      %.4f\n", t.best_val_loss);
  const History& h = c.history;
  std::printf("\nHistory (%zu epochs)\n  epoch    loss  accuracy  val_loss  val_accuracy  seconds\n", h.epochs());
  for (std::size_t e = 0; e < h.epochs(); ++e) {
    std::printf("  %5zu  %6.4f  %8.4f  %8.4f  %12.4f  %7.2f\n", e + 1, h.loss[e], h.accuracy[e], h.val_loss[e],
                h.val_accuracy[e], h.seconds[e]);
  }
  if (c.evaluation) {
    std::printf("\nEvaluation\n  test_loss: %.4f - test_accuracy: %.4f\n", c.evaluation->test_loss,
                c.evaluation->test_accuracy);
  } else {
    std::printf("\nEvaluation: none yet (training has not finished)\n");
  }
}

void print_test_result(const Scores& r, const std::vector<std::string>& class_names) {
  std::printf("Test set: %zu images\ntest_loss: %.4f - test_accuracy: %.4f\n\n%s", r.samples, r.loss, r.accuracy,
              confusion_text(r, class_names).c_str());
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += char(ch);
    } else if (ch < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", ch);
      out += escaped;
    } else {
      out += char(ch);
    }
  }
  return out + "\"";
}

std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", v);
  return text;
}

std::string json_array(const std::vector<double>& values) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + json_number(values[i]);
  return out + "]";
}

std::string to_json(const Options& o, const Checkpoint& c, const std::optional<Scores>& test,
                    std::optional<std::size_t> verified) {
  const ModelPlan plan = plan_model(c.model);
  std::string j = "{\n  \"file\": " + json_string(o.file) + ",\n  \"model\": {\"total_params\": " +
                  std::to_string(plan.num_params) + ", \"layers\": [";
  for (std::size_t i = 0; i < plan.layers.size(); ++i) {
    const LayerSpec& l = plan.spec.layers[i];
    j += std::string(i ? ", " : "") + "{\"name\": " + json_string(l.name) + ", \"type\": " + json_string(keras_name(l.kind)) +
         ", \"output_shape\": " + json_string(shape_text(plan.layers[i].output_shape)) + ", \"params\": " +
         std::to_string(plan.layers[i].params) + "}";
  }
  const TrainingState& t = c.training;
  j += "]},\n  \"training\": {\"epoch\": " + std::to_string(t.epoch) + ", \"step\": " + std::to_string(t.step) +
       ", \"step_in_epoch\": " + std::to_string(t.step_in_epoch) + ", \"world_size\": " + std::to_string(t.world_size) +
       ", \"batch_size\": " + std::to_string(t.batch_size) + ", \"epochs\": " + std::to_string(t.epochs) +
       ", \"seed\": " + std::to_string(t.seed) + ", \"split_seed\": " + std::to_string(t.split_seed) +
       ", \"val_split\": " + json_number(t.val_split) + ", \"optimizer\": " + json_string(to_text(t.optimizer)) +
       ", \"rmsprop_form\": " + json_string(to_text(t.rmsprop_form)) +
       ", \"lr\": " + json_number(t.lr) + ", \"num_train\": " + std::to_string(t.num_train) +
       ", \"data_fingerprint\": " + std::to_string(t.data_fingerprint) + ", \"epoch_loss_sum\": " +
       json_number(t.epoch_loss_sum) + ", \"epoch_correct\": " + std::to_string(t.epoch_correct) +
       ", \"epoch_samples\": " + std::to_string(t.epoch_samples) + ", \"epoch_seconds\": " +
       json_number(t.epoch_seconds) + ", \"best_val_loss\": " + json_number(t.best_val_loss) + "},\n";
  j += "  \"optimizer\": {\"name\": " + json_string(c.optimizer.name) + ", \"iterations\": " +
       std::to_string(c.optimizer.iterations) + ", \"slots\": [";
  for (std::size_t i = 0; i < c.optimizer.slots.size(); ++i) j += (i ? ", " : "") + json_string(c.optimizer.slots[i].name);
  const History& h = c.history;
  j += "]},\n  \"history\": {\"loss\": " + json_array(h.loss) + ", \"accuracy\": " + json_array(h.accuracy) +
       ", \"val_loss\": " + json_array(h.val_loss) + ", \"val_accuracy\": " + json_array(h.val_accuracy) +
       ", \"seconds\": " + json_array(h.seconds) + "},\n  \"evaluation\": ";
  j += c.evaluation ? "{\"test_loss\": " + json_number(c.evaluation->test_loss) + ", \"test_accuracy\": " +
                          json_number(c.evaluation->test_accuracy) + "}"
                    : "null";
  if (test) {
    j += ",\n  \"test\": {\"samples\": " + std::to_string(test->samples) + ", \"test_loss\": " + json_number(test->loss) +
         ", \"test_accuracy\": " + json_number(test->accuracy) + ", \"confusion\": [";
    for (int r = 0; r < test->classes; ++r) {
      j += r ? ", [" : "[";
      for (int p = 0; p < test->classes; ++p) j += (p ? ", " : "") + std::to_string(test->count(r, p));
      j += "]";
    }
    j += "]}";
  }
  if (verified) j += ",\n  \"verified_datasets\": " + std::to_string(*verified);
  return j + "\n}\n";
}

int run(const Options& o) {
  std::optional<std::size_t> verified;
  if (o.verify) {
    std::size_t checked = 0;
    const auto problems = verify_checkpoint(o.file, &checked);
    for (const std::string& p : problems) std::printf("PROBLEM: %s\n", p.c_str());
    if (!problems.empty()) {
      throw Error(Exit::checkpoint, o.file + ": " + std::to_string(problems.size()) + " problem(s) found");
    }
    verified = checked;
    if (!o.json) std::printf("OK: %zu datasets verified\n", checked);
  }
  const Checkpoint c = read_checkpoint(o.file);
  if (!o.compare.empty()) return compare_checkpoints(c, read_checkpoint(o.compare), o) ? 0 : 1;
  std::optional<Scores> test;
  std::optional<Classifier> classifier;
  if (o.evaluate || o.predict) classifier.emplace(load_classifier(c));
  if (o.evaluate) {
    test = evaluate_test_set(*classifier, load_test_set(o), o.pictures, o.file + " on the test set");
  }
  if (o.predict) predict(*classifier, o.predict_options);
  if (!o.onnx.empty()) {
    const std::string written = export_onnx(c.model, c.weights, o.onnx);
    if (!o.json) std::printf("%s\n", written.c_str());
  }
  if (!o.csv.empty()) write_file_atomically(o.csv, history_csv(c.history));
  if (!o.plot.empty()) write_file_atomically(o.plot, learning_curve_svg(c.history));
  if (o.json) {
    std::fputs(to_json(o, c, test, verified).c_str(), stdout);
  } else if (o.show_report()) {
    print_report(c);
  } else if (test) {
    print_test_result(*test, classifier->class_names());
  }
  return 0;
}

}  // namespace
}  // namespace fmnist

int main(int argc, char** argv) {
  try {
    const auto options = fmnist::parse_options(argc, argv);
    return options ? fmnist::run(*options) : 0;
  } catch (const fmnist::Error& e) {
    std::fprintf(stderr, "fmnist_inspect: %s\n", e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fmnist_inspect: internal error: %s\n", e.what());
    return static_cast<int>(fmnist::Exit::internal);
  }
}
