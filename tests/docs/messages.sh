#!/usr/bin/env bash
# Every message a user can meet, as the sources make it (fmnist_dist, fmnist_inspect, launch/*.sh;
# tests/docs/check_docs.py says which forms count), appears in docs/troubleshooting.md with its
# cause and fix. A new message fails this test, which lists each missing one with its file:line.
# Control: the page without one known message must fail the check and name that message.
set -euo pipefail
: "${FMNIST_SOURCE_DIR:?set by ctest}"
check="python3 $FMNIST_SOURCE_DIR/tests/docs/check_docs.py"
page=$FMNIST_SOURCE_DIR/docs/troubleshooting.md
$check messages "$page" "$FMNIST_SOURCE_DIR"

work=$(mktemp -d "${TMPDIR:-/tmp}/fmnist_messages.XXXXXX")
trap 'rm -rf "$work"' EXIT
known="the training part would be empty"  # src/data/split.cpp
grep -q "$known" "$page" || { echo "FAIL: the control's message '$known' is not on the page" >&2; exit 1; }
sed "s/$known/(removed)/g" "$page" >"$work/page.md"
if $check messages "$work/page.md" "$FMNIST_SOURCE_DIR" >"$work/control.log" 2>&1; then
  echo "FAIL: the check passed a page without '$known'" >&2
  exit 1
fi
grep -q "'$known'  (src/data/split.cpp:" "$work/control.log" || { cat "$work/control.log" >&2; echo "FAIL: the control's message is not named" >&2; exit 1; }
echo "messages: the control without '$known' fails as it should"
