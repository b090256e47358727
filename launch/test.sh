#!/usr/bin/env bash
# Set up, build, then run every test through ctest, showing the output of failures.
# Extra arguments go to ctest, e.g. launch/test.sh -L unit  or  launch/test.sh -R checkpoint.
set -euo pipefail
cd "$(dirname "$0")/.."
launch/setup.sh
cd build
exec ctest --output-on-failure --timeout 600 "$@"
