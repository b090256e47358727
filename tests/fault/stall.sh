# Stalls on one machine (mpirun -np 2, --stall-timeout 5): a rank frozen with SIGSTOP (rank 1,
# then rank 0) ends the job with exit 6 within the timeout plus a few seconds, the message names
# the silent rank, its host and the step, the checkpoint verifies and --resume auto finishes the
# run; a rank merely slowed by SIGSTOP/SIGCONT pulses shorter than the timeout trips nothing.
# Every run here has 100000 epochs: the test ends it (a fault, SIGUSR1), never the machine's speed.
# A hung file system outside the exchanges (docs/clusters.md: When a rank stops responding): a data
# file that blocks every rank's read (a FIFO nobody writes) ends the job with exit 6 through each
# rank's progress guard; rank 0 stuck in a read while writing the last checkpoint is named by rank 1;
# and rank 0 writing slowly but steadily for twice the timeout keeps rank 1 waiting without a trip.
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

# ended NAME CODE LIMIT_MS COMMAND...: runs COMMAND (output to WORK/NAME.log); it must exit CODE within
# LIMIT_MS, and no process of the job (its out-dir is WORK/NAME) may be left 10 s later.
ended() {
  local name=$1 want=$2 limit=$3 start took code=0
  shift 3
  start=$(now)
  "$@" >"$WORK/$name.log" 2>&1 || code=$?
  took=$(elapsed_ms "$start")
  [ "$code" -eq "$want" ] || { cat "$WORK/$name.log" >&2; fail "exit code $code, expected $want"; }
  [ "$took" -lt "$limit" ] || { cat "$WORK/$name.log" >&2; fail "the job took $took ms to end"; }
  for _ in $(seq 100); do pgrep -f -- "--out-dir $WORK/$name( |$)" >/dev/null || break; sleep 0.1; done
  if pgrep -f -- "--out-dir $WORK/$name( |$)" >/dev/null; then fail "a process of the job is still there 10 s after it ended"; fi
  echo "  $name: exit $code in $took ms: $(grep -m1 -E "no progress|no word|test_loss" "$WORK/$name.log" | cut -c1-160)"
}
QUICK=3  # --stall-timeout of the cases below: the progress guard ends a stuck rank after 1.25 x 3 + 5 s
hang_ms=$(((QUICK * 5 / 4 + 5 + 10) * 1000))  # the progress guard's limit, plus 10 s for mpirun to end the job

# Every rank blocks opening the training images (a FIFO nobody writes): no exchange ever starts, so
# only the ranks' own progress guards can end them.
stuck_data() {
  local data=$WORK/stuck_data.idx f
  mkdir -p "$data"
  for f in "$FIXTURES"/idx/*; do ln -s "$f" "$data/"; done
  rm "$data/train-images-idx3-ubyte.gz"
  mkfifo "$data/train-images-idx3-ubyte.gz"
  ended stuck_data 6 "$hang_ms" mpi 2 --data-dir "$data" --progress never --batch-size 16 --stall-timeout $QUICK \
    --out-dir "$WORK/stuck_data"
  expect_text "$WORK/stuck_data.log" \
    "^fmnist_dist: rank [01] \($(hostname)\): no progress for [0-9]+ s outside the exchanges with the other ranks"
}
case_ hung_data_read stuck_data

# Rank 0 writing the last checkpoint while rank 1 waits in the run's last exchange: a write that makes
# progress for 8 s (> 2 x the timeout) trips nothing; one that never returns is named by rank 1.
slow_checkpoint() {
  FMNIST_TEST_SLOW=0:last_checkpoint:8 ended slow_checkpoint 0 60000 mpi 2 "${SMALL[@]}" --batch-size 16 --epochs 1 \
    --stall-timeout $QUICK --out-dir "$WORK/slow_checkpoint"
  ! grep -Eq "no word from|no progress|has not completed" "$WORK/slow_checkpoint.log" || fail "a slow write tripped the watchdog"
  expect_text "$WORK/slow_checkpoint.log" "test_loss: [0-9.]+ - test_accuracy: [0-9.]+"
  verified "$WORK/slow_checkpoint/checkpoint.h5"
}
hung_checkpoint() {
  FMNIST_TEST_HANG=0:last_checkpoint ended hung_checkpoint 6 $(((QUICK + 10) * 1000)) mpi 2 "${SMALL[@]}" \
    --batch-size 16 --epochs 1 --stall-timeout $QUICK --out-dir "$WORK/hung_checkpoint"
  expect_text "$WORK/hung_checkpoint.log" \
    "^fmnist_dist: rank 1: no word from rank 0 \($(hostname)\) for [0-9]+ s at the end of the run, after step 14 \(epoch 1\); aborting"
  verified "$WORK/hung_checkpoint/checkpoint.h5"
}
case_ slow_checkpoint_write slow_checkpoint
case_ hung_checkpoint_write hung_checkpoint
summary
