# A stop signal at any moment ends the job with exit 75 and a checkpoint that verifies
# (docs/clusters.md: Errors and preemption):
# - SIGUSR1 to mpirun in mid-training: the flag travels in the next allreduce, rank 0 writes a
#   checkpoint, every rank exits 75; --resume auto then finishes the run;
# - SIGTERM to launch/mpirun.sh in mid-training: it forwards SIGUSR1 (mpirun's own reaction to
#   SIGTERM would kill the ranks a second later, without a checkpoint);
# - SIGUSR1 to rank 1 before MPI_Init (held there by the test-only hook FMNIST_TEST_FREEZE=1:init),
#   and SIGTERM to the only rank as it starts reading its data (held there by FMNIST_TEST_FREEZE=0:data): the stop
#   handlers come first in main, so the signal is recorded, not fatal, and the run stops after its
#   first step. Control: the same freeze without the signal trains on.
source "$(dirname "$0")/lib.sh"
ARGS=("${SMALL[@]}" --batch-size 16 --epochs 100000)

# wait_until SECONDS WHAT COMMAND...: polls COMMAND every 0.1 s until it succeeds.
wait_until() {
  local tries=$(($1 * 10)) what=$2
  shift 2
  for _ in $(seq "$tries"); do "$@" && return 0; sleep 0.1; done
  fail "$what: not after $tries tenths of a second"
}

# stopped_after LOG CODE STEP_REGEX OUT: the job's exit CODE is 75, it says where it stopped, and
# the checkpoint in OUT verifies.
stopped_after() {
  [ "$2" -eq 75 ] || { cat "$1" >&2; fail "exit code $2, expected 75"; }
  expect_text "$1" "Stopped by a signal after step $3"
  verified "$4/checkpoint.h5"
}

# SIGUSR1 to mpirun (or SIGTERM to launch/mpirun.sh) once a checkpoint exists.
in_training() {
  local name=$1 signal=$2 target=$3 out=$WORK/$1 pid code=0 start took step
  mpi 2 "${ARGS[@]}" --out-dir "$out" >"$WORK/$name.log" 2>&1 &
  pid=$!
  wait_until 60 "a checkpoint in $out" test -f "$out/checkpoint.h5"
  sleep 1
  pkill "-$signal" -f "^$target .*--out-dir $out( |$)" || fail "$target not found"
  start=$(now)
  wait "$pid" || code=$?
  took=$(elapsed_ms "$start")
  [ "$took" -lt 10000 ] || fail "the job took ${took} ms to stop"
  stopped_after "$WORK/$name.log" "$code" "[0-9]+" "$out"
  echo "  $name: SIG$signal to $target: exit 75 in $took ms"
}
in_training usr1_to_mpirun USR1 mpirun
out=$WORK/usr1_to_mpirun
step=$(grep -Eo "after step [0-9]+" "$WORK/usr1_to_mpirun.log" | grep -Eo "[0-9]+")
expect_exit 0 "$WORK/resume.log" mpi 2 "${ARGS[@]}" --out-dir "$out" --resume auto --max-steps $((step + 3))
expect_text "$WORK/resume.log" "Resumed at epoch"
expect_text "$WORK/resume.log" "Reached --max-steps $((step + 3))"
in_training term_to_launcher TERM "bash $SRC/launch/mpirun.sh"

is_stopped() { [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = T ]; }
# rank_pid OUT RANK: the process of that rank of the job writing to OUT; has_rank OUT RANK: it is there.
rank_pid() { pgrep -f "^$DIST .*--out-dir $1( |$)" | while read -r p; do
  tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2" && echo "$p"; done; }
has_rank() { [ -n "$(rank_pid "$1" "$2")" ]; }
# Rank 1 held before MPI_Init; with SIGNAL, SIGUSR1 arrives there, before it is continued.
before_init() {
  local name=$1 signal=$2 out=$WORK/$1 pid rank
  code=0
  FMNIST_TEST_FREEZE=1:init mpi 2 "${ARGS[@]}" --max-steps 3 --out-dir "$out" >"$WORK/$name.log" 2>&1 &
  pid=$!
  wait_until 30 "rank 1 held before MPI_Init" has_rank "$out" 1
  rank=$(rank_pid "$out" 1)
  wait_until 30 "rank 1 stopped" is_stopped "$rank"
  [ -z "$signal" ] || kill "-$signal" "$rank"
  kill -CONT "$rank"
  wait "$pid" || code=$?
}
before_init usr1_before_init USR1
stopped_after "$WORK/usr1_before_init.log" "$code" 1 "$WORK/usr1_before_init"
echo "  usr1_before_init: SIGUSR1 to rank 1 before MPI_Init: exit 75 after step 1"
before_init held_without_signal ""
[ "$code" -eq 0 ] || { cat "$WORK/held_without_signal.log" >&2; fail "the control exited $code"; }
expect_text "$WORK/held_without_signal.log" "Reached --max-steps 3"

# The only rank held just before it reads its data (FMNIST_TEST_FREEZE=0:data); SIGTERM arrives
# there, then it is continued: it reads the data with the signal recorded and stops after step 1.
out=$WORK/term_in_data
FMNIST_TEST_FREEZE=0:data mpi 1 "${SMALL[@]}" --batch-size 16 --epochs 100000 --out-dir "$out" \
  >"$WORK/term_in_data.log" 2>&1 &
pid=$!
wait_until 60 "the rank started" has_rank "$out" 0
rank=$(rank_pid "$out" 0)
wait_until 60 "the rank held before reading its data" is_stopped "$rank"
kill -TERM "$rank"
kill -CONT "$rank"
code=0
wait "$pid" || code=$?
stopped_after "$WORK/term_in_data.log" "$code" 1 "$out"
echo "  term_in_data: SIGTERM to the rank while it reads its data: exit 75 after step 1"
echo "1 passed, 0 failed"
