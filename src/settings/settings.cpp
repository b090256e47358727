// Settings as text and back (include/fmnist/settings.hpp): one mapping for --help, describe(),
// the checkpoint's implied values and fmnist_inspect's report. Numbers must use all of their text;
// doubles print as the shortest text that reads back as the same value. And the settings' checks:
// each entry's own, then the few combinations between options, with one message form (usage_error).
#include "fmnist/settings.hpp"

#include "fmnist/error.hpp"
#include "fmnist/run_dir.hpp"
#include "fmnist/text.hpp"

#include <charconv>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace fmnist {
namespace {

std::string not_valid(std::string_view text, const char* what) {
  std::string message = "'";
  message.append(text).append("' is not a valid ").append(what);
  return message;
}

template <typename T>
std::optional<std::string> integer_from_text(std::string_view text, T& v) {
  T value{};
  const char* end = text.data() + text.size();
  const auto [ptr, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc() || ptr != end) return not_valid(text, "integer");
  v = value;
  return std::nullopt;
}

}  // namespace

std::string option_name(const SettingInfo& info) {
  std::string name = info.key;
  for (char& c : name) c = c == '_' ? '-' : c;
  return name;
}

std::string to_text(const std::string& v) { return v; }
std::string to_text(bool v) { return v ? "true" : "false"; }
std::string to_text(int v) { return std::to_string(v); }
std::string to_text(std::int64_t v) { return std::to_string(v); }
std::string to_text(std::uint32_t v) { return std::to_string(v); }
std::string to_text(std::uint64_t v) { return std::to_string(v); }
std::string to_text(double v) { return number_text(v); }

std::optional<std::string> from_text(std::string_view text, std::string& v) {
  v = text;
  return std::nullopt;
}

std::optional<std::string> from_text(std::string_view text, bool& v) {
  if (text == "true" || text == "1") v = true;
  else if (text == "false" || text == "0") v = false;
  else return "must be true or false, got '" + std::string(text) + "'";
  return std::nullopt;
}

std::optional<std::string> from_text(std::string_view text, int& v) { return integer_from_text(text, v); }
std::optional<std::string> from_text(std::string_view text, std::int64_t& v) { return integer_from_text(text, v); }
std::optional<std::string> from_text(std::string_view text, std::uint32_t& v) { return integer_from_text(text, v); }
std::optional<std::string> from_text(std::string_view text, std::uint64_t& v) { return integer_from_text(text, v); }

// strtod's grammar (as the options always took: "1e-3", " 0.5" is refused, "inf" is read and
// then refused by the option's own range check).
std::optional<std::string> from_text(std::string_view text, double& v) {
  const std::string copy(text);
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(copy, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != copy.size()) return not_valid(text, "number");
  v = value;
  return std::nullopt;
}

std::optional<std::string> check_problem(const Check& check, double value, const std::string& text) {
  if (check.must == nullptr) return std::nullopt;
  const bool above = check.min_open ? value > check.min : value >= check.min;
  const bool below = check.max_open ? value < check.max : value <= check.max;
  if (above && below) return std::nullopt;  // never for NaN
  return std::string(check.must) + ", got " + text;
}

void check_settings(const Settings& s) {
  visit_settings(s, [](const SettingInfo& info, const auto& value) {
    if (const auto problem = check_problem(info.check, value)) usage_error(option_name(info), *problem);
  });
  const long long micro_batches = (static_cast<long long>(s.batch_size) + s.micro_batch - 1) / s.micro_batch;
  if (micro_batches > kMaxMicroBatches)
    usage_error("micro-batch", "--batch-size " + to_text(s.batch_size) + " with --micro-batch " + to_text(s.micro_batch) +
                                   " makes " + std::to_string(micro_batches) + " micro-batches per step; at most " +
                                   to_text(kMaxMicroBatches) + " keep the exact sum inside 64 bits: raise --micro-batch" +
                                   " to at least " + to_text((s.batch_size + kMaxMicroBatches - 1) / kMaxMicroBatches));
  if (!s.run_id.empty() && !valid_run_id(s.run_id))
    usage_error("run-id", "must be 1 to 64 letters, digits, '-', '_' or '.', got '" + s.run_id.substr(0, 80) + "'");
  if (!s.test_csv.empty() && s.train_csv.empty()) usage_error("test-csv", "needs --train-csv as well");
  if (s.lr_schedule == ScheduleKind::cosine && s.lr_decay_epochs == 0 && s.warmup_epochs >= s.epochs)
    usage_error("warmup-epochs", "must be fewer than --epochs for a cosine schedule without --lr-decay-epochs, got " +
                                     to_text(s.warmup_epochs));
}

std::optional<std::string> set_setting(Settings& s, std::string_view key, std::string_view text) {
  std::optional<std::string> problem = "no such setting";
  visit_settings(s, [&](const SettingInfo& info, auto& field) {
    if (key != info.key) return;
    auto value = field;
    problem = from_text(text, value);
    if (!problem) problem = check_problem(info.check, value);
    if (!problem) field = value;
  });
  return problem;
}

}  // namespace fmnist
