#!/usr/bin/env bash
# Set up, build, then run every test through ctest, showing the output of failures.
# Extra arguments go to ctest, e.g. launch/test.sh -L unit  or  launch/test.sh -R checkpoint; those of
# the form -DFMNIST_...=VALUE configure the build instead (CI: launch/test.sh -DFMNIST_WERROR=ON).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake_options=()
ctest_options=()
for arg in "$@"; do
  case "$arg" in
    -DFMNIST_*) cmake_options+=("$arg") ;;
    *) ctest_options+=("$arg") ;;
  esac
done
launch/setup.sh --tests "${cmake_options[@]}"
cd build
exec ctest --output-on-failure --timeout 600 "${ctest_options[@]}"
