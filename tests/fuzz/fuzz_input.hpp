// Shared by the libFuzzer targets: the readers take file paths, so each input is written to a
// private temporary file (in /dev/shm when there is one) that is reused for every input.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

#include "fmnist/error.hpp"

namespace fuzz {

// A per-process file path; the file is removed when the fuzzer exits.
inline std::string temp_path(const char* tag) {
  static std::string dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  return dir + "/fmnist_fuzz_" + tag + "_" + std::to_string(getpid());
}

inline void write_file(const std::string& path, const std::uint8_t* data, std::size_t size) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr || (size > 0 && std::fwrite(data, 1, size, f) != size) || std::fclose(f) != 0) {
    std::perror(path.c_str());
    std::abort();
  }
}

// Every rejected input must be reported as bad data (exit 3), never as anything else.
inline void expect_data_error(const fmnist::Error& e) {
  if (e.code() != fmnist::Exit::data) {
    std::fprintf(stderr, "reader threw a non-data error (exit %d): %s\n", e.exit_code(), e.what());
    std::abort();
  }
}

// A fatal check that sanitizers and libFuzzer report as a crash.
inline void require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

}  // namespace fuzz
