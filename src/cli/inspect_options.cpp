// Parses and validates fmnist_inspect's options with cxxopts (the only module that sees it). Every
// problem, including a combination that cannot work or a picture file name of the wrong kind,
// becomes Error(Exit::usage) naming the option, before any file is read.
#include "fmnist/inspect_options.hpp"

#include <cxxopts.hpp>
#include <utility>

#include "fmnist/error.hpp"
#include "fmnist/text.hpp"

namespace fmnist {
namespace {

const char* const kExitCodes =
    "Exit codes:\n"
    "  0  done (with --compare: the checkpoints agree within --tolerance)\n"
    "  1  --compare: the checkpoints differ (another model, optimizer or step count, or a tensor beyond\n"
    "     --tolerance)\n"
    "  2  bad command line or option value\n"
    "  3  bad or missing input data (--evaluate, --predict)\n"
    "  4  bad, corrupt or incompatible checkpoint (--verify found a problem), or unwritable output\n"
    "  70 internal failure\n";

cxxopts::Options option_spec(const InspectOptions& defaults) {
  cxxopts::Options spec("fmnist_inspect", "Shows, verifies, evaluates and exports an fmnist_dist checkpoint.");
  spec.positional_help("FILE [--predict INPUT...]").set_width(110);
  spec.add_options()("verify", "Check checksums, shapes and finiteness; exit 4 if anything is wrong")(
      "evaluate", "Compute test loss, accuracy and the confusion matrix from the weights")(
      "data-dir", "IDX folder for --evaluate", cxxopts::value<std::string>()->default_value(defaults.data_dir))(
      "test-csv", "Kaggle test CSV for --evaluate (instead of --data-dir)", cxxopts::value<std::string>())(
      "predict", "Classify the INPUTs after the checkpoint: IDX or CSV files, pictures (PNG, JPEG, PGM, ...), "
      "folders of pictures")(
      "invert", "For --predict: invert pictures to light-on-dark: auto (when the border is light), yes, no",
      cxxopts::value<std::string>()->default_value("auto"))(
      "plot-confusion", "With --evaluate or --predict: draw the confusion matrix to this .svg file",
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
      "compare", "Compare the weights, optimizer state and step count with another checkpoint; exit 1 if they "
      "differ", cxxopts::value<std::string>())(
      "tolerance", "For --compare: the largest relative difference allowed per tensor, relative meaning the "
      "largest |a - b| over the largest |a| of the tensor (0: identical bytes)",
      cxxopts::value<double>()->default_value("0"))("h,help", "Show this help")(
      "version", "Print the version, the Git commit and the kernels' instruction set")(
      "file", "Checkpoint", cxxopts::value<std::string>());
  spec.parse_positional({"file"});
  return spec;
}

// --plot-confusion writes SVG only; --plot-errors PNG or SVG, chosen by the name.
void check_picture_names(const Pictures& p) {
  if (!p.confusion_svg.empty() && lower_extension(p.confusion_svg) != ".svg") {
    throw Error(Exit::usage, "--plot-confusion " + p.confusion_svg + ": the file name must end in .svg");
  }
  const std::string ext = lower_extension(p.errors);
  if (!p.errors.empty() && ext != ".png" && ext != ".svg") {
    throw Error(Exit::usage, "--plot-errors " + p.errors + ": the file name must end in .png or .svg");
  }
}

Invert invert_option(const std::string& text) {
  if (text == "auto") return Invert::automatic;
  if (text == "yes") return Invert::yes;
  if (text == "no") return Invert::no;
  throw Error(Exit::usage, "--invert must be auto, yes or no, not '" + text + "'");
}

// --predict's INPUTs (the arguments after the checkpoint), --invert, --outputs and --logits.
void parse_predict_options(const cxxopts::ParseResult& args, InspectOptions& o) {
  o.predict = args.count("predict") > 0;
  if (!o.predict) {
    if (!args.unmatched().empty()) throw Error(Exit::usage, "unexpected argument '" + args.unmatched()[0] + "'");
    if (args.count("outputs") || args.count("logits")) throw Error(Exit::usage, "--outputs and --logits need --predict");
    return;
  }
  PredictOptions& p = o.predict_options;
  p.inputs = args.unmatched();
  if (p.inputs.empty()) throw Error(Exit::usage, "--predict needs at least one INPUT after the checkpoint FILE");
  if (args.count("outputs")) p.outputs = args["outputs"].as<std::string>();
  if (args.count("logits")) p.logits = args["logits"].as<std::string>();
  p.invert = invert_option(args["invert"].as<std::string>());
  if (o.evaluate || o.json || !o.compare.empty()) {
    throw Error(Exit::usage, "--predict cannot be combined with --evaluate, --json or --compare");
  }
}

// The options that need another: the pictures need labelled images, the data options --evaluate.
void check_combinations(const cxxopts::ParseResult& args, const InspectOptions& o) {
  if (o.pictures.any() && !o.evaluate && !o.predict) {
    throw Error(Exit::usage, "--plot-confusion and --plot-errors need --evaluate or --predict");
  }
  if ((args.count("data-dir") || args.count("test-csv")) && !o.evaluate) {
    throw Error(Exit::usage, "--data-dir and --test-csv need --evaluate");
  }
  if (args.count("data-dir") && args.count("test-csv")) {
    throw Error(Exit::usage, "give either --data-dir or --test-csv, not both");
  }
  if (!(o.tolerance >= 0)) throw Error(Exit::usage, "--tolerance must be 0 or positive");
  if (args.count("tolerance") && o.compare.empty()) throw Error(Exit::usage, "--tolerance needs --compare");
}

std::string text_option(const cxxopts::ParseResult& args, const char* name) {
  return args.count(name) ? args[name].as<std::string>() : std::string();
}

InspectOptions from_args(const cxxopts::ParseResult& args) {
  InspectOptions o;
  if (!args.count("file")) throw Error(Exit::usage, "missing the checkpoint FILE (see --help)");
  o.file = args["file"].as<std::string>();
  o.verify = args.count("verify") > 0;
  o.evaluate = args.count("evaluate") > 0;
  o.json = args.count("json") > 0;
  o.data_dir = args["data-dir"].as<std::string>();
  o.test_csv = text_option(args, "test-csv");
  o.plot = text_option(args, "plot");
  o.csv = text_option(args, "csv");
  o.compare = text_option(args, "compare");
  o.tolerance = args["tolerance"].as<double>();
  o.onnx = text_option(args, "export-onnx");
  o.pictures = {text_option(args, "plot-confusion"), text_option(args, "plot-errors")};
  parse_predict_options(args, o);
  check_combinations(args, o);
  check_picture_names(o.pictures);
  if (o.predict) {
    o.predict_options.pictures = o.pictures;
    o.predict_options.csv = std::exchange(o.csv, "");
  }
  return o;
}

}  // namespace

InspectOptions parse_inspect_options(int argc, const char* const* argv) {
  cxxopts::Options spec = option_spec(InspectOptions{});
  try {
    const cxxopts::ParseResult args = spec.parse(argc, argv);
    if (args.count("help")) {
      InspectOptions o;
      o.help = true;
      o.help_text = spec.help() + "\n" + kExitCodes;
      return o;
    }
    if (args.count("version")) {
      InspectOptions o;
      o.version = true;
      return o;
    }
    return from_args(args);
  } catch (const cxxopts::exceptions::exception& e) {
    throw Error(Exit::usage, std::string(e.what()) + " (see --help)");
  }
}

}  // namespace fmnist
