#!/usr/bin/env bash
# No file of the repository refers to a path outside it (a ../ that climbs above the root from
# the file's folder, a peer folder beside the checkout), and README's and docs/'s relative links
# point at files that exist (tests/docs/check_docs.py).
set -euo pipefail
: "${FMNIST_SOURCE_DIR:?set by ctest}"
python3 "$FMNIST_SOURCE_DIR/tests/docs/check_docs.py" paths "$FMNIST_SOURCE_DIR"
