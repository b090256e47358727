// Parses and validates fmnist_dist's options with cxxopts. Every problem becomes
// Error(Exit::usage) with the option's name, so the user knows what to change.
#include "fmnist/config.hpp"

#include <cxxopts.hpp>

#include <cmath>
#include <limits>
#include <map>
#include <stdexcept>
#include <type_traits>
#include <vector>
#include <sstream>

#include "fmnist/error.hpp"

namespace fmnist {
namespace {

[[noreturn]] void bad(const std::string& option, const std::string& what) {
  throw Error(Exit::usage, "--" + option + ": " + what + " (see --help)");
}

// Converts an option's text to a number; the whole text must be consumed.
template <typename T>
T to_number(const std::string& option, const std::string& text) {
  std::size_t used = 0;
  T value{};
  try {
    if constexpr (std::is_floating_point_v<T>) {
      value = static_cast<T>(std::stod(text, &used));
    } else if constexpr (std::is_unsigned_v<T>) {
      if (!text.empty() && text[0] == '-') throw std::invalid_argument("negative");
      const unsigned long long v = std::stoull(text, &used);
      if (v > std::numeric_limits<T>::max()) throw std::out_of_range("too large");
      value = static_cast<T>(v);
    } else {
      const long long v = std::stoll(text, &used);
      if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max()) throw std::out_of_range("range");
      value = static_cast<T>(v);
    }
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size())
    bad(option, "'" + text + "' is not a valid " + (std::is_floating_point_v<T> ? "number" : "integer"));
  return value;
}

void validate(const Config& c) {
  if (c.epochs <= 0) bad("epochs", "must be a positive integer, got " + std::to_string(c.epochs));
  if (c.batch_size <= 0) bad("batch-size", "must be a positive integer, got " + std::to_string(c.batch_size));
  if (!(c.val_split > 0.0 && c.val_split < 1.0))
    bad("val-split", "must lie strictly between 0 and 1, got " + std::to_string(c.val_split));
  if (!(c.lr > 0.0) || !std::isfinite(c.lr)) bad("lr", "must be a positive number, got " + std::to_string(c.lr));
  if (c.optimizer != "rmsprop" && c.optimizer != "adam" && c.optimizer != "sgd")
    bad("optimizer", "unknown optimizer '" + c.optimizer + "'; choose rmsprop, adam or sgd");
  if (!(c.momentum >= 0.0 && c.momentum < 1.0)) bad("momentum", "must lie in [0, 1)");
  if (c.checkpoint_every < 0) bad("checkpoint-every", "must be 0 (off) or a positive number of steps");
  if (c.max_steps < 0) bad("max-steps", "must be 0 (no limit) or a positive number of steps");
  if (c.micro_batch <= 0 || c.micro_batch > 4096) bad("micro-batch", "must lie in 1..4096");
  const long long micro_batches = (static_cast<long long>(c.batch_size) + c.micro_batch - 1) / c.micro_batch;
  if (micro_batches > kMaxMicroBatches)
    throw Error(Exit::usage, "--batch-size " + std::to_string(c.batch_size) + " with --micro-batch " +
                                 std::to_string(c.micro_batch) + " makes " + std::to_string(micro_batches) +
                                 " micro-batches per step; at most " + std::to_string(kMaxMicroBatches) +
                                 " keep the exact sum inside 64 bits: raise --micro-batch to at least " +
                                 std::to_string((c.batch_size + kMaxMicroBatches - 1) / kMaxMicroBatches) +
                                 " (see --help)");
  if (!(c.stall_timeout >= 0 && c.stall_timeout <= 86400))
    bad("stall-timeout", "must be 0 (off) or a number of seconds up to 86400");
  if (c.rmsprop_form != "keras2" && c.rmsprop_form != "keras3")
    bad("rmsprop-form", "must be keras2 or keras3, got '" + c.rmsprop_form + "'");
  if (c.progress != "auto" && c.progress != "always" && c.progress != "never")
    bad("progress", "must be auto, always or never");
  if (c.out_dir.empty()) bad("out-dir", "must not be empty");
  if (!c.test_csv.empty() && c.train_csv.empty()) bad("test-csv", "needs --train-csv as well");
}

}  // namespace

Config parse_config(int argc, const char* const* argv) {
  Config c;
  cxxopts::Options options("fmnist_dist",
                           "Data-parallel training of the Keras Fashion-MNIST CNN.\n"
                           "Run under MPI: mpirun -np N fmnist_dist [options]");
  std::string eval_ranks = "0";
  bool rmsprop_keras2 = false;  // the former option, now the default: an alias of --rmsprop-form keras2
  std::map<std::string, std::string> text;  // numeric options as typed, converted below
  // clang-format off
  options.add_options("Data")
    ("data-dir", "folder with the four IDX files (.gz or plain)", cxxopts::value(c.data_dir)->default_value(c.data_dir))
    ("train-csv", "Kaggle training CSV (label,pixel1..pixel784) instead of IDX", cxxopts::value(c.train_csv))
    ("test-csv", "Kaggle test CSV (with --train-csv)", cxxopts::value(c.test_csv))
    ("val-split", "fraction of the training data held out for validation", cxxopts::value(text["val-split"])->default_value("0.3"))
    ("split-seed", "random_state of the train/validation split", cxxopts::value(text["split-seed"])->default_value("42"));
  options.add_options("Model")
    ("model", "a Keras Sequential model as JSON (model.to_json()); default: the tutorial's", cxxopts::value(c.model))
    ("print-model", "print the model's Keras JSON (the default or --model's) and exit", cxxopts::value(c.print_model));
  options.add_options("Training")
    ("epochs", "number of epochs", cxxopts::value(text["epochs"])->default_value("15"))
    ("batch-size", "global batch size, shared out across the ranks", cxxopts::value(text["batch-size"])->default_value("512"))
    ("optimizer", "rmsprop, adam or sgd (with momentum)", cxxopts::value(c.optimizer)->default_value("rmsprop"))
    ("lr", "learning rate", cxxopts::value(text["lr"])->default_value("0.001"))
    ("momentum", "momentum of sgd", cxxopts::value(text["momentum"])->default_value("0.9"))
    ("rmsprop-form", "where RMSprop's epsilon goes: keras2 (lr*g/(sqrt(v)+eps), Keras 2.x and the tutorial) or keras3 (lr*g/sqrt(v+eps), Keras 2.11+ and 3)", cxxopts::value(c.rmsprop_form)->default_value("keras2"))
    ("rmsprop-keras2", "the same as --rmsprop-form keras2 (the default)", cxxopts::value(rmsprop_keras2))
    ("seed", "seed of the initial weights and of the shuffling", cxxopts::value(text["seed"])->default_value("0"))
    ("micro-batch", "the global batch is cut into micro-batches of this size, shared out across the ranks; keep it at most batch-size / ranks", cxxopts::value(text["micro-batch"])->default_value("64"))
    ("max-steps", "stop after this many optimizer steps in total, checkpoint, exit 0 (0: no limit)", cxxopts::value(text["max-steps"])->default_value("0"));
  options.add_options("Output and resume")
    ("out-dir", "folder for checkpoint.h5, best.h5, history.csv, learning_curve.svg", cxxopts::value(c.out_dir)->default_value("run"))
    ("checkpoint-every", "also checkpoint every K steps (0: only after each epoch)", cxxopts::value(text["checkpoint-every"])->default_value("0"))
    ("resume", "continue from a checkpoint: 'auto' (OUT_DIR/checkpoint.h5 if present) or a file",
     cxxopts::value(c.resume)->implicit_value("auto"))
    ("eval-ranks", "who evaluates: '0' (rank 0 alone) or 'all' (shared across ranks)", cxxopts::value(eval_ranks)->default_value("0"))
    ("progress", "live progress bar: auto (when standard output is a terminal), always or never", cxxopts::value(c.progress)->default_value("auto"))
    ("profile", "after every epoch, print compute/allreduce/update seconds and peak memory", cxxopts::value(c.profile))
    ("stall-timeout", "a collective of the training loop waits at most this many seconds for the other ranks, then the job ends with exit 6 naming the ranks that did not arrive (0: off)", cxxopts::value(text["stall-timeout"])->default_value("60"))
    ("fail-at", "testing aid: RANK:STEP raises an error on that rank at that step", cxxopts::value(c.fail_at))
    ("h,help", "print this help and exit");
  // clang-format on
  // "--resume FILE" as well as "--resume" alone: cxxopts only takes "--resume=FILE" for an
  // option with an implicit value, so join the pair here.
  std::vector<std::string> words(argv, argv + argc);
  for (std::size_t i = 1; i + 1 < words.size(); ++i) {
    if (words[i] == "--resume" && words[i + 1].rfind("-", 0) != 0) {
      words[i] += "=" + words[i + 1];
      words.erase(words.begin() + static_cast<std::ptrdiff_t>(i) + 1);
    }
  }
  std::vector<const char*> joined;
  for (const auto& w : words) joined.push_back(w.c_str());
  try {
    const auto result = options.parse(static_cast<int>(joined.size()), joined.data());
    if (!result.unmatched().empty())
      throw Error(Exit::usage, "unexpected argument '" + result.unmatched().front() + "' (see --help)");
    c.help = result.count("help") > 0;
  } catch (const cxxopts::exceptions::exception& e) {
    throw Error(Exit::usage, std::string(e.what()) + " (see --help)");
  }
  c.help_text = options.help();
  if (c.help) return c;
  if (rmsprop_keras2 && c.rmsprop_form != "keras2")
    bad("rmsprop-keras2", "contradicts --rmsprop-form " + c.rmsprop_form);
  if (eval_ranks != "0" && eval_ranks != "all") bad("eval-ranks", "must be 0 or all, got '" + eval_ranks + "'");
  c.eval_all_ranks = eval_ranks == "all";
  c.val_split = to_number<double>("val-split", text["val-split"]);
  c.split_seed = to_number<std::uint32_t>("split-seed", text["split-seed"]);
  c.epochs = to_number<int>("epochs", text["epochs"]);
  c.batch_size = to_number<int>("batch-size", text["batch-size"]);
  c.lr = to_number<double>("lr", text["lr"]);
  c.momentum = to_number<double>("momentum", text["momentum"]);
  c.seed = to_number<std::uint64_t>("seed", text["seed"]);
  c.micro_batch = to_number<int>("micro-batch", text["micro-batch"]);
  c.max_steps = to_number<std::int64_t>("max-steps", text["max-steps"]);
  c.checkpoint_every = to_number<std::int64_t>("checkpoint-every", text["checkpoint-every"]);
  c.stall_timeout = to_number<double>("stall-timeout", text["stall-timeout"]);
  validate(c);
  return c;
}

std::string describe(const Config& c) {
  std::ostringstream out;
  out << "val_split=" << c.val_split << "\nsplit_seed=" << c.split_seed << "\nepochs=" << c.epochs
      << "\nbatch_size=" << c.batch_size << "\noptimizer=" << c.optimizer << "\nlr=" << c.lr
      << "\nmomentum=" << c.momentum << "\nrmsprop_form=" << c.rmsprop_form << "\nseed=" << c.seed
      << "\nmicro_batch=" << c.micro_batch << "\nmax_steps=" << c.max_steps
      << "\ncheckpoint_every=" << c.checkpoint_every << "\nresume=" << c.resume
      << "\neval_all_ranks=" << c.eval_all_ranks << "\nstall_timeout=" << c.stall_timeout << "\n";
  return out.str();
}

}  // namespace fmnist
