// Parses and validates fmnist_inspect's options with cxxopts (the only module that sees it). Every
// option is one entry of the table below, as fmnist_dist's are of the settings table; every problem,
// including a combination that cannot work or a picture file name of the wrong kind, becomes
// Error(Exit::usage) naming the option, before any file is read.
#include "fmnist/inspect_options.hpp"

#include <cxxopts.hpp>
#include <type_traits>
#include <utility>

#include "fmnist/error.hpp"
#include "fmnist/settings.hpp"
#include "fmnist/text.hpp"

namespace fmnist {

template <>
struct EnumNames<Invert> {
  static constexpr std::array names{"auto", "yes", "no"};
};

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

// What the table says about an option: its name, its --help text and its valid values (settings.hpp's
// Check). Its default is the field's in InspectOptions{}.
struct InspectOptionInfo {
  const char* name;
  const char* help;
  Check check = {};
};

// The table, in --help order: X(field of InspectOptions, InspectOptionInfo fields). Flags are bool.
// clang-format off
#define FMNIST_INSPECT_OPTIONS(X)                                                                                \
  X(verify, "verify", "Check checksums, shapes and finiteness; exit 4 if anything is wrong")                     \
  X(evaluate, "evaluate", "Compute test loss, accuracy and the confusion matrix from the weights")              \
  X(data_dir, "data-dir", "IDX folder for --evaluate")                                                          \
  X(test_csv, "test-csv", "Kaggle test CSV for --evaluate (instead of --data-dir)")                             \
  X(predict, "predict", "Classify the INPUTs after the checkpoint: IDX or CSV files, pictures (PNG, JPEG, PGM, " \
    "...), folders of pictures")                                                                                \
  X(predict_options.invert, "invert",                                                                           \
    "For --predict: invert pictures to light-on-dark: auto (when the border is light), yes, no")                \
  X(pictures.confusion_svg, "plot-confusion",                                                                   \
    "With --evaluate or --predict: draw the confusion matrix to this .svg file")                                \
  X(pictures.errors, "plot-errors",                                                                             \
    "With --evaluate or --predict: draw the 36 most confident errors to this .png or .svg file")                \
  X(plot, "plot", "Write the learning curves to this SVG file")                                                 \
  X(csv, "csv", "Write the history to this CSV file; with --predict, the predictions instead")                  \
  X(predict_options.outputs, "outputs", "With --predict: write the model's outputs (softmax probabilities if "  \
    "it ends in softmax) as a float32 (N, classes) .npy file")                                                  \
  X(predict_options.logits, "logits", "With --predict: write the logits as a float32 (N, classes) .npy file")   \
  X(json, "json", "Print everything as one JSON object")                                                        \
  X(onnx, "export-onnx", "Write the model with its weights as ONNX to this file (input NHWC float32 in [0, 1]; " \
    "outputs 'output' and 'logits')")                                                                           \
  X(compare, "compare", "Compare the weights, optimizer state and step count with another checkpoint; exit 1 "   \
    "if they differ")                                                                                           \
  X(tolerance, "tolerance", "For --compare: the largest relative difference allowed per tensor, relative "       \
    "meaning the largest |a - b| over the largest |a| of the tensor (0: identical bytes)",                      \
    {.min = 0, .must = "must be 0 or positive"})
// clang-format on

#define FMNIST_VISIT_INSPECT_OPTION(field, ...) visit(InspectOptionInfo{__VA_ARGS__}, o.field);

// Calls visit(const InspectOptionInfo&, field) for every option of the table, in its order.
template <typename Options, typename Visit>
void visit_inspect_options(Options& o, Visit&& visit) {
  FMNIST_INSPECT_OPTIONS(FMNIST_VISIT_INSPECT_OPTION)
}

// One cxxopts option per table entry; flags take no value, the others are read as text (from_text).
cxxopts::Options option_spec() {
  cxxopts::Options spec("fmnist_inspect", "Shows, verifies, evaluates and exports an fmnist_dist checkpoint.");
  spec.positional_help("FILE [--predict INPUT...]").set_width(110);
  auto adder = spec.add_options();
  const InspectOptions defaults;
  visit_inspect_options(defaults, [&](const InspectOptionInfo& info, const auto& value) {
    if constexpr (std::is_same_v<std::decay_t<decltype(value)>, bool>) {
      adder(info.name, info.help, cxxopts::value<bool>());
    } else {
      auto text = cxxopts::value<std::string>();
      if (!to_text(value).empty()) text->default_value(to_text(value));
      adder(info.name, info.help, text);
    }
  });
  adder("h,help", "Show this help")("version", "Print the version, the Git commit and the kernels' instruction set")(
      "file", "Checkpoint", cxxopts::value<std::string>());
  spec.parse_positional({"file"});
  return spec;
}

// The value given for one option, read and checked: "--invert must be auto, yes or no, not 'maybe'",
// "--tolerance must be 0 or positive, got -1".
template <typename T>
void read_option(const cxxopts::ParseResult& args, const InspectOptionInfo& info, T& field) {
  if (args.count(info.name) == 0) return;
  if constexpr (std::is_same_v<T, bool>) {
    field = args[info.name].as<bool>();
  } else {
    const std::string text = args[info.name].as<std::string>();
    if constexpr (Choice<T>) {
      if (from_text(text, field))
        throw Error(Exit::usage, "--" + std::string(info.name) + " must be " + choices_text<T>() + ", not '" + text + "'");
    } else if (const auto problem = from_text(text, field)) {
      usage_error(info.name, *problem);
    }
    if (const auto problem = check_problem(info.check, field))
      throw Error(Exit::usage, "--" + std::string(info.name) + " " + *problem);
  }
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

// --predict's INPUTs (the arguments after the checkpoint), and what --predict cannot go with.
void check_predict(const cxxopts::ParseResult& args, InspectOptions& o) {
  if (!o.predict) {
    if (!args.unmatched().empty()) throw Error(Exit::usage, "unexpected argument '" + args.unmatched()[0] + "'");
    if (args.count("outputs") || args.count("logits")) throw Error(Exit::usage, "--outputs and --logits need --predict");
    return;
  }
  o.predict_options.inputs = args.unmatched();
  if (o.predict_options.inputs.empty())
    throw Error(Exit::usage, "--predict needs at least one INPUT after the checkpoint FILE");
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
  if (args.count("tolerance") && o.compare.empty()) throw Error(Exit::usage, "--tolerance needs --compare");
}

InspectOptions from_args(const cxxopts::ParseResult& args) {
  InspectOptions o;
  if (!args.count("file")) throw Error(Exit::usage, "missing the checkpoint FILE (see --help)");
  o.file = args["file"].as<std::string>();
  visit_inspect_options(o, [&](const InspectOptionInfo& info, auto& field) { read_option(args, info, field); });
  check_predict(args, o);
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
  cxxopts::Options spec = option_spec();
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
