#!/usr/bin/env bash
# README's one exit-code table against the sources (tests/docs/check_docs.py): its codes are
# exactly those of include/fmnist/error.hpp's Exit enum, plus fmnist_inspect's own codes
# (include/fmnist/inspect_options.hpp: --compare's 1, internal failure 70).
set -euo pipefail
: "${FMNIST_SOURCE_DIR:?set by ctest}"
python3 "$FMNIST_SOURCE_DIR/tests/docs/check_docs.py" exit-codes "$FMNIST_SOURCE_DIR/README.md" \
  "$FMNIST_SOURCE_DIR/include/fmnist/error.hpp" "$FMNIST_SOURCE_DIR/include/fmnist/inspect_options.hpp"
