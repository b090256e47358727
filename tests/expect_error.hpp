// The one way the unit tests expect a failure: run the code, which must throw fmnist::Error with
// the exit code given, and get its message back to check what it names.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "fmnist/error.hpp"

namespace fmnist::test {

// Runs f; expects fmnist::Error with `code` and returns its message. Records a test failure when
// f throws nothing ("" is returned) or another code (the message is returned all the same).
template <typename F>
std::string expect_error(Exit code, F&& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), static_cast<int>(code)) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "expected fmnist::Error with exit code " << static_cast<int>(code) << ", nothing was thrown";
  return "";
}

// Whether `text` holds `part` (for EXPECT_TRUE on a message).
inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace fmnist::test
