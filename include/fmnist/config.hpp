// The command line of fmnist_dist (README: Options): every option with its default, parsed with
// cxxopts and validated; a bad value throws Error(Exit::usage) naming the option.
#pragma once

#include <cstdint>
#include <string>

namespace fmnist {

// Micro-batches per step at most (ceil(batch-size / micro-batch)): the bound that keeps the exact
// fixed-point sum of a step inside int64 (src/train/exact_sum.hpp).
constexpr int kMaxMicroBatches = 1024;

struct Config {
  std::string data_dir = "/usr/share/datasets/fashion-mnist";
  std::string train_csv;  // Kaggle CSVs instead of IDX (both, or train only: then no test figures)
  std::string test_csv;
  double val_split = 0.3;
  std::uint32_t split_seed = 42;
  int epochs = 15;
  int batch_size = 512;  // global batch, shared out across the ranks
  std::string model;               // --model: a Keras JSON file ("": the tutorial's model)
  bool print_model = false;        // print the model's Keras JSON and exit
  std::string optimizer = "rmsprop";
  double lr = 0.001;
  double momentum = 0.9;           // sgd
  std::string rmsprop_form = "keras2";  // keras2: eps outside the sqrt (the tutorial's); keras3: inside
  std::uint64_t seed = 0;          // initialisation and shuffling
  std::string out_dir = "run";
  std::int64_t checkpoint_every = 0;  // also checkpoint every K steps (0: only per epoch)
  std::string resume;                 // "", "auto" or a file
  std::int64_t max_steps = 0;         // stop after K optimizer steps in total (0: no limit)
  bool eval_all_ranks = false;        // --eval-ranks all
  int micro_batch = 64;               // the unit of work shared out across the ranks
  std::string progress = "auto";      // auto | always | never
  bool profile = false;               // print where the step time goes after every epoch
  std::string fail_at;                // testing aid: "RANK:STEP" throws on that rank at that step
  double stall_timeout = 60;          // seconds a collective of the training loop may wait (0: off)
  bool help = false;
  std::string help_text;
};

// Parses argv; throws Error(Exit::usage, "--option: what is wrong") on any bad option or value.
Config parse_config(int argc, const char* const* argv);

// The settings that every rank must share, as "key=value" lines (compared at start-up).
// Data paths are left out: ranks compare fingerprints of the data they read instead.
std::string describe(const Config& c);

}  // namespace fmnist
