# Stalls on one machine (mpirun -np 2, --stall-timeout 5): a rank frozen with SIGSTOP (rank 1,
# then rank 0) ends the job with exit 6 within the timeout plus a few seconds, the message names
# the silent rank, its host and the step, the checkpoint verifies and --resume auto finishes the
# run; a rank merely slowed by SIGSTOP/SIGCONT pulses shorter than the timeout trips nothing.
# Every run here has 100000 epochs: the test ends it (a fault, SIGUSR1), never the machine's speed.
source "$(dirname "$0")/lib.sh"
STALL=5

wait_for_file() {
  for _ in $(seq 600); do [ -f "$1" ] && return 0; sleep 0.1; done
  fail "no $1 after 60 s"
}

# frozen NAME RANK OTHER: SIGSTOP of RANK once the run has checkpointed; OTHER must name it.
frozen() {
  local name=$1 rank=$2 other=$3 out=$WORK/$1 pid code=0 start took
  local args=("${SMALL[@]}" --batch-size 16 --micro-batch 8 --seed 4 --checkpoint-every 5 --stall-timeout $STALL
              --out-dir "$out")
  mpi 2 "${args[@]}" --epochs 100000 >"$WORK/$name.log" 2>&1 &
  pid=$!
  wait_for_file "$out/checkpoint.h5"
  sleep 0.5
  kill -STOP "$(rank_pid "$out" "$rank")"
  start=$(now)
  wait "$pid" || code=$?
  took=$(elapsed_ms "$start")
  [ "$code" -eq 6 ] || { cat "$WORK/$name.log" >&2; fail "exit code $code, expected 6"; }
  [ "$took" -lt $(((STALL + 5) * 1000)) ] || fail "the job took $took ms to end after rank $rank froze"
  expect_text "$WORK/$name.log" \
    "^fmnist_dist: rank $other: no word from rank $rank \($(hostname)\) for [0-9]+ s at step [0-9]+ \(epoch [0-9]+\); aborting"
  if pgrep -f "^$DIST .*--out-dir $out( |$)" >/dev/null; then fail "a rank of the stalled job is still running"; fi
  verified "$out/checkpoint.h5"
  echo "  $name: exit 6 in $took ms: $(grep -m1 "no word from" "$WORK/$name.log")"
  expect_exit 0 "$WORK/$name.resume.log" mpi 2 "${args[@]}" --epochs 3 --resume auto
  expect_text "$WORK/$name.resume.log" "Resumed at epoch"
  expect_text "$WORK/$name.resume.log" "test_loss: [0-9.]+ - test_accuracy: [0-9.]+"
}
case_ sigstop_rank1 frozen sigstop_rank1 1 0
case_ sigstop_rank0 frozen sigstop_rank0 0 1

# Pulses: rank 1, then rank 0, stopped for 3 s (below the 5 s timeout) while training; the watchdog
# stays silent, SIGUSR1 then stops the run as usual (exit 75), and its weights are those of an
# undisturbed run of as many steps. The run has 100000 epochs, so it is still training when the
# pulses come on any machine; the test, not the speed, decides where it ends.
pulses() {
  local out=$WORK/pulses ref=$WORK/pulses_ref pid code=0 rank step
  local args=("${SMALL[@]}" --batch-size 16 --micro-batch 8 --seed 4 --epochs 100000 --checkpoint-every 5
              --stall-timeout $STALL)
  mpi 2 "${args[@]}" --out-dir "$out" >"$WORK/pulses.log" 2>&1 &
  pid=$!
  wait_for_file "$out/checkpoint.h5"
  for rank in 1 0; do
    local victim
    victim=$(rank_pid "$out" "$rank")
    kill -STOP "$victim"
    sleep 3
    kill -CONT "$victim" || fail "rank $rank had ended before its pulse"
    sleep 1
  done
  pkill -USR1 -f "^mpirun .*--out-dir $out( |$)" || fail "mpirun not found"
  wait "$pid" || code=$?
  [ "$code" -eq 75 ] || { cat "$WORK/pulses.log" >&2; fail "exit code $code after pulses shorter than the timeout, expected 75 (SIGUSR1)"; }
  ! grep -q "no word from\|has not completed" "$WORK/pulses.log" || fail "the watchdog tripped on a slow rank"
  expect_text "$WORK/pulses.log" "Stopped by a signal after step [0-9]+"
  step=$(grep -Eo "after step [0-9]+" "$WORK/pulses.log" | grep -Eo "[0-9]+")
  expect_exit 0 "$WORK/pulses_ref.log" mpi 2 "${args[@]}" --out-dir "$ref" --max-steps "$step"
  same_weights "$ref/checkpoint.h5" "$out/checkpoint.h5" 0
  echo "  pulses: two 3 s stops, then SIGUSR1 after step $step: exit 75, same weights as $step undisturbed steps"
}
case_ sigstop_pulses_below_timeout pulses
summary
