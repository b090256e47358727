#!/usr/bin/env bash
# README's option tables against the programs (tests/docs/check_docs.py): every option that
# fmnist_dist --help and fmnist_inspect --help print has a row with the same default, and every
# row names a real option. A new option fails this test until README gets its row. README stays
# at most 300 lines.
set -euo pipefail
: "${FMNIST_BUILD:?set by ctest}" "${FMNIST_SOURCE_DIR:?set by ctest}"
check="python3 $FMNIST_SOURCE_DIR/tests/docs/check_docs.py"
$check options "$FMNIST_SOURCE_DIR/README.md" "$FMNIST_BUILD/fmnist_dist" "fmnist_dist options"
$check options "$FMNIST_SOURCE_DIR/README.md" "$FMNIST_BUILD/fmnist_inspect" "fmnist_inspect options"
# README is the user's page and stays at most 300 lines (docs/contributing.md: detail goes to docs/).
lines=$(wc -l <"$FMNIST_SOURCE_DIR/README.md")
[ "$lines" -le 300 ] || { echo "README.md has $lines lines, more than 300: move detail to docs/" >&2; exit 1; }
