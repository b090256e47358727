#!/usr/bin/env bash
# Every measured figure of README.md and docs/*.md (a time, a size, a rate, a speed-up, a ratio to
# PyTorch, an accuracy; tests/docs/check_docs.py) has a date (YYYY-MM-DD) and a processor in its
# paragraph, or in the paragraphs around its table or code block. Controls: an undated figure, a
# figure without its processor and one whose date sits two paragraphs away must fail; a setting
# ("--stall-timeout 60", "120 s before the limit") is no figure and must pass.
set -euo pipefail
: "${FMNIST_SOURCE_DIR:?set by ctest}"
check="python3 $FMNIST_SOURCE_DIR/tests/docs/check_docs.py"
$check figures "$FMNIST_SOURCE_DIR"/README.md "$FMNIST_SOURCE_DIR"/docs/*.md

work=$(mktemp -d "${TMPDIR:-/tmp}/fmnist_figures.XXXXXX")
trap 'rm -rf "$work"' EXIT
expect() {  # expect pass|fail NAME TEXT: the check on a page holding TEXT
  printf '%b\n' "$3" >"$work/$2.md"
  local got=pass
  $check figures "$work/$2.md" >"$work/$2.log" 2>&1 || got=fail
  [ "$got" = "$1" ] || { cat "$work/$2.log" >&2; echo "FAIL: the control '$2' should $1 the check" >&2; exit 1; }
}
expect fail undated "An epoch takes 2.59 s on a 2-core AMD EPYC."
expect fail no_processor "Measured 2026-12-03: test accuracy 0.8563."
expect fail far_date "Measured 2026-12-03 on a 2-core AMD EPYC.\n\nSomething else.\n\n| run | s |\n|---|---|\n| 1 | 5.56 s |"
expect pass dated "Measured 2026-12-03 on a 2-core AMD EPYC: an epoch took 2.59 s, 0.29 of PyTorch's."
expect pass table "2026-12-03, 2-core AMD EPYC with AVX-512:\n\n| seed | test accuracy |\n|---|---|\n| 0 | 0.832 |"
expect pass settings "Slurm sends SIGUSR1 120 s before the time limit; \`--stall-timeout 60\`; ranks wait 10 s."
echo "figures: the controls fail and pass as they should"
