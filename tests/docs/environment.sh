#!/usr/bin/env bash
# README's "Environment variables" against launch/ (tests/docs/check_docs.py): every FMNIST_*
# variable a launch script reads has a row, and every row names one that a script reads.
set -euo pipefail
: "${FMNIST_SOURCE_DIR:?set by ctest}"
python3 "$FMNIST_SOURCE_DIR/tests/docs/check_docs.py" environment "$FMNIST_SOURCE_DIR/README.md" "$FMNIST_SOURCE_DIR"
