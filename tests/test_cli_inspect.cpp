// fmnist_inspect's command line (src/cli/inspect_options.cpp): what each option sets, the help with
// every exit code, and each refusal (exit 2) naming the option, before any file is read.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "expect_error.hpp"
#include "fmnist/inspect_options.hpp"

namespace fmnist {
namespace {

using test::expect_error;

InspectOptions parse(std::vector<const char*> args) {
  args.insert(args.begin(), "fmnist_inspect");
  return parse_inspect_options(static_cast<int>(args.size()), args.data());
}

void expect_refused(std::vector<const char*> args, const std::string& names) {
  const std::string message = expect_error(Exit::usage, [&] { parse(args); });
  EXPECT_NE(message.find(names), std::string::npos) << "expected an error naming " << names << ", got: " << message;
}

TEST(InspectOptions, TheFileAloneShowsTheReport) {
  const InspectOptions o = parse({"ckpt.h5"});
  EXPECT_EQ(o.file, "ckpt.h5");
  EXPECT_TRUE(o.show_report());
  EXPECT_FALSE(o.help);
  EXPECT_EQ(o.tolerance, 0);
  EXPECT_EQ(o.data_dir, "/usr/share/datasets/fashion-mnist");
}

TEST(InspectOptions, EachOptionLandsInItsField) {
  const InspectOptions o = parse({"a.h5", "--compare", "b.h5", "--tolerance", "1e-4", "--verify", "--json"});
  EXPECT_EQ(o.compare, "b.h5");
  EXPECT_DOUBLE_EQ(o.tolerance, 1e-4);
  EXPECT_TRUE(o.verify && o.json);
  EXPECT_FALSE(o.show_report());
  const InspectOptions e = parse({"a.h5", "--evaluate", "--test-csv", "t.csv", "--plot-confusion", "c.SVG",
                                  "--plot-errors", "e.png"});
  EXPECT_EQ(e.test_csv, "t.csv");
  EXPECT_EQ(e.pictures.confusion_svg, "c.SVG");
  EXPECT_EQ(e.pictures.errors, "e.png");
  const InspectOptions p = parse({"a.h5", "--predict", "x.png", "dir", "--csv", "p.csv", "--invert", "no",
                                  "--plot-errors", "e.svg"});
  EXPECT_EQ(p.predict_options.inputs, (std::vector<std::string>{"x.png", "dir"}));
  EXPECT_EQ(p.predict_options.csv, "p.csv");
  EXPECT_TRUE(p.csv.empty());  // with --predict, --csv names the predictions, not the history
  EXPECT_EQ(p.predict_options.invert, Invert::no);
  EXPECT_EQ(p.predict_options.pictures.errors, "e.svg");
}

TEST(InspectOptions, HelpListsEveryExitCodeAndWhatTheToleranceIsRelativeTo) {
  const InspectOptions o = parse({"--help"});
  EXPECT_TRUE(o.help);
  for (const char* line : {"  0  done", "  1  --compare: the checkpoints differ", "  2  bad command line",
                           "  3  bad or missing input data", "  4  bad, corrupt or incompatible checkpoint",
                           "largest |a - b| over the largest |a| of the tensor"}) {
    EXPECT_NE(o.help_text.find(line), std::string::npos) << line << "\n" << o.help_text;
  }
}

// --version needs no checkpoint FILE, as --help; without it the FILE is required.
TEST(InspectOptions, VersionNeedsNoFile) {
  const InspectOptions o = parse({"--version"});
  EXPECT_TRUE(o.version);
  EXPECT_FALSE(o.help);
  EXPECT_FALSE(parse({"a.h5"}).version);
  expect_refused({"--verify"}, "checkpoint FILE");
}

TEST(InspectOptions, PictureNamesOfTheWrongKindAreRefused) {
  expect_refused({"a.h5", "--evaluate", "--plot-confusion", "c.png"}, "--plot-confusion c.png: the file name must end in .svg");
  expect_refused({"a.h5", "--evaluate", "--plot-confusion", "confusion"}, "--plot-confusion confusion:");
  expect_refused({"a.h5", "--evaluate", "--plot-errors", "e.jpg"}, "--plot-errors e.jpg: the file name must end in .png or .svg");
  expect_refused({"a.h5", "--evaluate", "--plot-errors", "out.svg/errors"}, "--plot-errors out.svg/errors:");
}

TEST(InspectOptions, CombinationsThatCannotWorkAreRefused) {
  expect_refused({}, "missing the checkpoint FILE");
  expect_refused({"a.h5", "b.h5"}, "unexpected argument 'b.h5'");
  expect_refused({"a.h5", "--outputs", "o.npy"}, "--outputs and --logits need --predict");
  expect_refused({"a.h5", "--predict"}, "--predict needs at least one INPUT");
  expect_refused({"a.h5", "--predict", "x.png", "--evaluate"}, "--predict cannot be combined");
  expect_refused({"a.h5", "--predict", "x.png", "--invert", "maybe"}, "--invert must be auto, yes or no, not 'maybe'");
  expect_refused({"a.h5", "--plot-errors", "e.png"}, "--plot-confusion and --plot-errors need --evaluate or --predict");
  expect_refused({"a.h5", "--test-csv", "t.csv"}, "--data-dir and --test-csv need --evaluate");
  expect_refused({"a.h5", "--evaluate", "--test-csv", "t.csv", "--data-dir", "d"}, "either --data-dir or --test-csv");
  expect_refused({"a.h5", "--compare", "b.h5", "--tolerance", "-1"}, "--tolerance must be 0 or positive");
  expect_refused({"a.h5", "--tolerance", "0.1"}, "--tolerance needs --compare");
  expect_refused({"a.h5", "--bogus"}, "bogus");
}

}  // namespace
}  // namespace fmnist
