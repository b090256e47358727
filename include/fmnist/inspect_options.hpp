// The command line of fmnist_inspect (README: fmnist_inspect options): what to show, check, compute and
// write for one checkpoint, parsed with cxxopts and validated in src/cli. A bad command line
// throws Error(Exit::usage) naming the option. Its exit codes, shown by --help, are below.
#pragma once

#include <string>

#include "fmnist/predict.hpp"

namespace fmnist {

// fmnist_inspect's exit codes: Exit's usage (2), data (3) and checkpoint (4) as fmnist_dist's,
// plus these two. 1 is --compare's answer (as cmp and diff give it), so an internal failure of
// fmnist_inspect leaves with 70 (EX_SOFTWARE) rather than fmnist_dist's 1.
inline constexpr int kInspectDiffer = 1;     // --compare: the checkpoints differ
inline constexpr int kInspectInternal = 70;  // a bug or an unexpected failure

struct InspectOptions {
  std::string file;                  // the checkpoint
  bool verify = false;               // check checksums, shapes and finiteness
  bool evaluate = false;             // test loss, accuracy and confusion matrix from the weights
  bool json = false;                 // print everything as one JSON object
  std::string data_dir = "/usr/share/datasets/fashion-mnist";  // --evaluate's IDX folder
  std::string test_csv;              // --evaluate's Kaggle CSV instead
  std::string plot;                  // learning curves to this SVG file
  std::string csv;                   // the history to this CSV file (--predict: the predictions)
  std::string compare;               // another checkpoint to compare the weights with
  double tolerance = 0;              // --compare: per tensor, largest |a - b| over largest |a|; 0: same bytes
  std::string onnx;                  // --export-onnx: the model as ONNX to this file
  Pictures pictures;                 // --plot-confusion, --plot-errors (with --evaluate or --predict)
  bool predict = false;              // classify predict_options.inputs
  PredictOptions predict_options;    // --predict's inputs, --invert, --outputs, --logits, csv, pictures
  bool help = false;
  std::string help_text;             // the options and the exit codes
  bool version = false;              // --version: print version_text("fmnist_inspect") and exit

  // Nothing but the file was asked for: print the report (model, training state, history, evaluation).
  bool show_report() const {
    return !verify && !evaluate && !predict && !json && plot.empty() && csv.empty() && compare.empty() && onnx.empty();
  }
};

// Parses argv; throws Error(Exit::usage, "... naming the option ...") on any bad option or value.
InspectOptions parse_inspect_options(int argc, const char* const* argv);

}  // namespace fmnist
