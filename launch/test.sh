#!/usr/bin/env bash
# Set up (with the packages only the tests need), build, then run the tests through ctest, as many
# at a time as there are cores, showing the output of failures. Without arguments: every test but
# those labelled slow (long sweeps and variants, which CI runs: launch/test.sh -L slow). Extra
# arguments go to ctest instead, e.g. launch/test.sh -L unit  or  launch/test.sh -R checkpoint; those
# of the form -DFMNIST_...=VALUE configure the build (CI: launch/test.sh -DFMNIST_WERROR=ON).
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
[ "${#ctest_options[@]}" -gt 0 ] || ctest_options=(-LE slow)
launch/setup.sh --tests "${cmake_options[@]}"
cd build
exec ctest --output-on-failure --timeout 600 -j "$(nproc)" "${ctest_options[@]}"
