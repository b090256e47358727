# Helpers for the tests that run the real fmnist_dist and fmnist_inspect under mpirun.
# Sourced by tests/mpi/*.sh; ctest sets FMNIST_BUILD and FMNIST_SOURCE_DIR.
set -euo pipefail
BUILD=${FMNIST_BUILD:?set by ctest}
SRC=${FMNIST_SOURCE_DIR:?set by ctest}
DIST=$BUILD/fmnist_dist
INSPECT=$BUILD/fmnist_inspect
FIXTURES=$SRC/tests/fixtures
WORK=$(mktemp -d "${TMPDIR:-/tmp}/fmnist_test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# Small real data: 300 training images (210 train / 90 validation) and 100 test images.
SMALL=(--data-dir "$FIXTURES/idx" --progress never)

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# mpi NP ARGS...: fmnist_dist under mpirun with a hard time limit (a hang fails the test).
mpi() {
  local np=$1
  shift
  timeout -k 5 "${LIMIT:-120}" "$SRC/launch/mpirun.sh" "$np" "$DIST" "$@"
}

# expect_exit CODE LOG COMMAND...: runs COMMAND with output to LOG and checks its exit code.
expect_exit() {
  local want=$1 log=$2
  shift 2
  local got=0
  "$@" >"$log" 2>&1 || got=$?
  if [ "$got" -ne "$want" ]; then
    cat "$log" >&2
    fail "expected exit code $want, got $got from: $*"
  fi
}

# expect_text LOG PATTERN: the log contains the (extended regex) pattern.
expect_text() {
  grep -Eq -- "$2" "$1" || {
    cat "$1" >&2
    fail "output lacks /$2/"
  }
}

# same_weights A B TOLERANCE: every tensor of the two checkpoints agrees to TOLERANCE
# (largest difference over largest magnitude); 0 means the same bytes.
same_weights() {
  "$INSPECT" "$1" --compare "$2" --tolerance "$3" >"$WORK/compare.log" 2>&1 || {
    cat "$WORK/compare.log" >&2
    fail "weights of $1 and $2 differ beyond $3"
  }
}

# verified FILE: the checkpoint passes fmnist_inspect --verify.
verified() {
  "$INSPECT" "$1" --verify >"$WORK/verify.log" 2>&1 || {
    cat "$WORK/verify.log" >&2
    fail "$1 does not verify"
  }
}

# now: milliseconds since the epoch; elapsed_ms START: milliseconds since START.
now() { echo $(($(date +%s%N) / 1000000)); }
elapsed_ms() { echo $(($(now) - $1)); }

# The N-invariance checks of a model (tests/mpi/*_n_invariance.sh); each trains the caller's "${run[@]}"
# (options, --seed included) for 6 steps. same_over_ranks NP...: one run per NP into WORK/npNP,
# every checkpoint with the first NP's weight bytes.
same_over_ranks() {
  local np
  for np in "$@"; do
    expect_exit 0 "$WORK/np$np.log" mpi "$np" "${run[@]}" --max-steps 6 --out-dir "$WORK/np$np"
    expect_text "$WORK/np$np.log" "Reached --max-steps 6"
  done
  for np in "${@:2}"; do same_weights "$WORK/np$1/checkpoint.h5" "$WORK/np$np/checkpoint.h5" 0; done
}

# resume_same_as REF: stopped after step 2 (inside epoch 1) and resumed on 2 ranks, the run ends
# with REF's weight bytes (never stopped).
resume_same_as() {
  expect_exit 0 "$WORK/a.log" mpi 2 "${run[@]}" --max-steps 2 --out-dir "$WORK/parts"
  expect_exit 0 "$WORK/b.log" mpi 2 "${run[@]}" --max-steps 6 --out-dir "$WORK/parts" --resume auto
  expect_text "$WORK/b.log" "Resumed at epoch 1, step 2 of the epoch"
  same_weights "$1" "$WORK/parts/checkpoint.h5" 0
}

# weights_differ REF NAME...: each WORK/NAME/checkpoint.h5 differs from REF (the controls: the
# comparison can fail).
weights_differ() {
  local ref=$1 other
  shift
  for other in "$@"; do
    if "$INSPECT" "$ref" --compare "$WORK/$other/checkpoint.h5" --tolerance 1e-6 >/dev/null 2>&1; then
      fail "$other gave the same weights: the comparison cannot fail"
    fi
  done
}

# without_dropout IN OUT: the Keras JSON IN with every Dropout's rate 0, to OUT (for the checks against
# PyTorch, whose random masks are not ours).
without_dropout() {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
for layer in doc["config"]["layers"]:
    if layer["class_name"] == "Dropout":
        layer["config"]["rate"] = 0.0
json.dump(doc, open(sys.argv[2], "w"))
PY
}
