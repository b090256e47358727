# Helpers for the fault suite (tests/fault/*.sh): each case runs the real fmnist_dist under
# mpirun and checks the exit code of every rank, that the one message names the cause, that the
# job ended within 10 s of the fault, and that the checkpoint already in the out-dir survives.
source "$(dirname "${BASH_SOURCE[0]}")/../mpi/lib.sh"
LIMIT=${LIMIT:-90}       # seconds before `mpi` kills a hung job (the case then fails)
FAULT_LIMIT_MS=10000     # a job must end within this long after its fault
# shellcheck disable=SC2034  # used by the scripts that source this file
PYTHON=/usr/bin/python3  # Debian's python3 with python3-h5py (launch/setup.sh installs it)
BASE=$WORK/base/checkpoint.h5
PASSED=0
FAILED=0
FAILED_NAMES=()

# make_base: a valid checkpoint (1 rank, batch 16, 3 steps) that cases copy into their out-dir.
make_base() {
  expect_exit 0 "$WORK/base.log" mpi 1 "${SMALL[@]}" --batch-size 16 --max-steps 3 --out-dir "$WORK/base"
  verified "$BASE"
}

# rank_pid OUT RANK: the pid of the fmnist_dist process of rank RANK whose --out-dir is OUT.
rank_pid() {
  local p
  for p in $(pgrep -f "^$DIST .*--out-dir $1( |$)"); do
    if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2"; then
      echo "$p"
      return
    fi
  done
  fail "no process of rank $2 found for $1"
}

# seeded_out NAME: prints a fresh out-dir for case NAME that holds a copy of the base checkpoint.
seeded_out() {
  local dir=$WORK/$1/out
  mkdir -p "$dir"
  cp "$BASE" "$dir/checkpoint.h5"
  echo "$dir"
}

# ranks_mpi NP ARGS...: like `mpi`, but each rank runs through a shell that first evaluates
# $RANK_PRELUDE (e.g. a ulimit) and then records the rank's exit code in $RC_DIR/rank.R; and
# mpirun does not kill the other ranks when one exits non-zero (it then exits 0 itself), so each
# rank must leave on its own.
# shellcheck disable=SC2016
RANK_WRAPPER='eval "$RANK_PRELUDE"; "$0" "$@"; rc=$?; [ -z "$RC_DIR" ] || echo "$rc" >"$RC_DIR/rank.$OMPI_COMM_WORLD_RANK"; exit "$rc"'
ranks_mpi() {
  local np=$1
  shift
  RANK_PRELUDE=${RANK_PRELUDE:-} RC_DIR=$RC_DIR timeout -k 5 "$LIMIT" "$SRC/launch/mpirun.sh" "$np" \
    --mca orte_abort_on_non_zero_status 0 -x RANK_PRELUDE -x RC_DIR bash -c "$RANK_WRAPPER" "$DIST" "$@"
}
# ranks_mpi_default NP ARGS...: the same job under mpirun's default policy, as users run it.
ranks_mpi_default() {
  local np=$1
  shift
  RANK_PRELUDE=${RANK_PRELUDE:-} RC_DIR="" timeout -k 5 "$LIMIT" "$SRC/launch/mpirun.sh" "$np" \
    -x RANK_PRELUDE -x RC_DIR bash -c "$RANK_WRAPPER" "$DIST" "$@"
}

# out_dir_of ARGS...: the value of --out-dir in ARGS (empty if none).
out_dir_of() {
  local prev=""
  for a in "$@"; do
    [ "$prev" = "--out-dir" ] && { echo "$a"; return; }
    prev=$a
  done
}

# single_error LOG: exactly one line of the form "fmnist_dist: ... error: ..." (rank 0 alone reported it).
single_error() {
  local n
  n=$(grep -c "^fmnist_dist: .*error: " "$1" || true)
  [ "$n" -eq 1 ] || { cat "$1" >&2; fail "expected one error message, found $n"; }
}

# RUN_FILES: what a run writes in its out-dir (a run owns the folder: a second run there sees them).
RUN_FILES=(checkpoint.h5 best.h5 history.csv learning_curve.svg)

# run_case NAME CODE REGEX NP ARGS...: one case, run by `case_` (so a failure is counted, not fatal).
# Runs the job twice, each time from the same out-dir (the first run's files are put back as they
# were). First with ranks_mpi: every rank must leave on its own with CODE (ABORT=1:
# skipped, for failures that end the job through MPI_Abort). Then as users run it (`mpi`): mpirun
# exits with CODE. Both times the output matches REGEX and (CODE != 0) holds exactly one error
# message, the job takes < 10 s, and the checkpoint.h5 that was in --out-dir before still
# verifies, byte for byte unchanged when the run failed.
run_case() {
  local name=$1 code=$2 regex=$3 np=$4
  shift 4
  local out before="" start took got n log f saved=$WORK/$name.saved
  out=$(out_dir_of "$@")
  if [ -n "$out" ] && [ -f "$out/checkpoint.h5" ]; then before=$(sha256sum <"$out/checkpoint.h5"); fi
  mkdir -p "$saved"
  for f in "${RUN_FILES[@]}"; do [ -z "$out" ] || [ ! -f "$out/$f" ] || cp -p "$out/$f" "$saved/"; done
  if [ "${ABORT:-0}" != 1 ]; then
    log=$WORK/$name.ranks.log
    RC_DIR=$WORK/$name.rc
    mkdir -p "$RC_DIR"
    start=$(now)
    ranks_mpi "$np" "$@" >"$log" 2>&1 || true
    took=$(elapsed_ms "$start")
    n=$(find "$RC_DIR" -name 'rank.*' | wc -l)
    [ "$n" -eq "$np" ] || { cat "$log" >&2; fail "$n of $np ranks recorded an exit code"; }
    for f in "$RC_DIR"/rank.*; do
      got=$(cat "$f")
      [ "$got" -eq "$code" ] || { cat "$log" >&2; fail "${f##*/} exited with $got, expected $code"; }
    done
    [ "$took" -lt "$FAULT_LIMIT_MS" ] || fail "the ranks took $took ms to end"
    expect_text "$log" "$regex"
    if [ "$code" -ne 0 ]; then single_error "$log"; fi
    for f in "${RUN_FILES[@]}"; do [ -z "$out" ] || rm -f "$out/$f"; done
    [ -z "$out" ] || [ -z "$(ls -A "$saved")" ] || cp -p "$saved"/* "$out/"
  fi
  log=$WORK/$name.log
  start=$(now)
  expect_exit "$code" "$log" ranks_mpi_default "$np" "$@"
  took=$(elapsed_ms "$start")
  [ "$took" -lt "$FAULT_LIMIT_MS" ] || fail "the job took $took ms to end"
  expect_text "$log" "$regex"
  if [ "$code" -ne 0 ]; then single_error "$log"; fi
  if [ -n "$before" ]; then
    verified "$out/checkpoint.h5"
    if [ "$code" -ne 0 ] && [ "$(sha256sum <"$out/checkpoint.h5")" != "$before" ]; then
      fail "the failed run changed $out/checkpoint.h5"
    fi
  fi
  echo "  $name: exit $code in $took ms: $(grep -m1 -E -- "error: |$regex" "$log" | cut -c1-200)"
}

# case_ NAME COMMAND...: runs one case in a subshell with `set -e`; counts it as passed or failed.
case_() {
  local name=$1 rc=0
  shift
  set +e
  (
    set -e
    "$@"
  )
  rc=$?
  set -e
  # A case that failed half-way may leave its jobs running: end those of this test (every job
  # of the suite has a path under $WORK on its command line).
  pkill -KILL -f -- "$WORK/" 2>/dev/null || true
  if [ "$rc" -eq 0 ]; then
    PASSED=$((PASSED + 1))
    echo "ok   $name"
  else
    FAILED=$((FAILED + 1))
    FAILED_NAMES+=("$name")
    echo "FAIL $name" >&2
  fi
}

# check NAME CODE REGEX NP ARGS...: case_ around run_case.
check() { case_ "$1" run_case "$@"; }

# later NAME COMMAND...: case_ NAME COMMAND..., queued; run_queued runs the queue PARALLEL_CASES
# (default 2) at a time, each in a subshell with its output kept, then counts each as case_ does.
# For cases that share nothing: each has an out-dir of its own and reads only files that no later
# command changes. Most of a case's time is its jobs' start-up, not work. Each queued case gets an
# Open MPI session folder of its own. check_later: `check`, queued (the two runs of one case stay
# one after the other).
QUEUED=()
later() { QUEUED+=("$(printf '%q ' "$@")"); }
check_later() { later "$1" run_case "$@"; }
run_queued() {
  local i j n=${#QUEUED[@]} k=${PARALLEL_CASES:-2} pids rc
  for ((i = 0; i < n; i += k)); do
    pids=()
    for ((j = i; j < i + k && j < n; j++)); do
      (
        set -e
        # A session folder of its own: mpiruns started at once race on a shared one (orte_init fails).
        export OMPI_MCA_orte_tmpdir_base=$WORK/ompi.$j
        mkdir -p "$OMPI_MCA_orte_tmpdir_base"
        eval "set -- ${QUEUED[j]}"
        shift
        "$@"
      ) >"$WORK/queued.$j.log" 2>&1 &
      pids+=($!)
    done
    for ((j = i; j < i + k && j < n; j++)); do
      rc=0
      wait "${pids[j - i]}" || rc=$?
      echo "$rc" >"$WORK/queued.$j.rc"
    done
  done
  for ((j = 0; j < n; j++)); do
    eval "set -- ${QUEUED[j]}"
    case_ "$1" replay_queued "$j"
  done
  QUEUED=()
}
replay_queued() {
  cat "$WORK/queued.$1.log"
  return "$(cat "$WORK/queued.$1.rc")"
}

# summary: the closing line ctest-style runners read; exit 1 if any case failed.
summary() {
  echo "$PASSED passed, $FAILED failed"
  if [ "$FAILED" -ne 0 ]; then
    echo "failed: ${FAILED_NAMES[*]}" >&2
    exit 1
  fi
}
