// libFuzzer target for fmnist::parse_keras_json: any byte string either becomes a spec that
// plans, writes back as JSON and reads back as the same spec, or is refused with
// fmnist::Error(Exit::usage). A crash, a sanitizer report or any other exception is a bug.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fmnist/error.hpp"
#include "fmnist/model_spec.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const fmnist::ModelSpec spec = fmnist::parse_keras_json(text, "fuzz.json");
    const fmnist::ModelPlan plan = fmnist::plan_model(spec);
    fuzz::require(plan.num_params <= fmnist::kMaxParams, "the parameter limit holds");
    const std::string written = fmnist::to_keras_json(spec);
    fuzz::require(fmnist::to_keras_json(fmnist::parse_keras_json(written, "written")) == written,
                  "a written spec reads back as itself");
  } catch (const fmnist::Error& e) {
    if (e.code() != fmnist::Exit::usage) {
      std::fprintf(stderr, "parser threw a non-usage error (exit %d): %s\n", e.exit_code(), e.what());
      std::abort();
    }
  }
  return 0;
}
