// Settings as text and back (include/fmnist/settings.hpp): one mapping for --help, describe(),
// the checkpoint's implied values and fmnist_inspect's report. Numbers must use all of their text;
// doubles print as the shortest text that reads back as the same value.
#include "fmnist/settings.hpp"

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

const char* group_name(Group group) {
  switch (group) {
    case Group::data: return "Data";
    case Group::model: return "Model";
    case Group::training: return "Training";
    case Group::output: return "Output and resume";
    case Group::state: break;
  }
  return "Training state";
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

}  // namespace fmnist
