# Faults in mid-training: a rank killed with SIGKILL ends the job within 10 s with its checkpoint
# intact, and --resume auto finishes the run; SIGUSR1 at five different steps, each followed by
# --resume auto, gives the same bytes as an uninterrupted run; a diverging loss (--lr 1e6) stops
# with exit 5 and keeps the last finite checkpoint.
source "$(dirname "$0")/lib.sh"

# wait_for_new FILE INODE: waits (up to 60 s) until FILE exists with another inode than INODE
# (checkpoints are replaced by rename, so a new inode means a new checkpoint).
wait_for_new() {
  local i
  for i in $(seq 600); do
    if [ -f "$1" ] && [ "$(stat -c %i "$1")" != "$2" ]; then return 0; fi
    sleep 0.1
  done
  fail "no new $1 after 60 s"
}
inode() { stat -c %i "$1" 2>/dev/null || echo none; }

# kill_rank NAME RANK: SIGKILL of one rank once the run has written two checkpoints (14 steps per
# epoch, a checkpoint every 3 and after each epoch, so the kill falls inside an epoch); then
# --resume auto, on the same out-dir, finishes an 8-epoch run. The killed run asks for 100000
# epochs, so it is still training when the kill comes, however fast the machine.
kill_rank() {
  local name=$1 rank=$2 out=$WORK/$1 pid code=0 start took victim
  local args=("${SMALL[@]}" --batch-size 16 --seed 5 --checkpoint-every 3 --out-dir "$out")
  mpi 2 "${args[@]}" --epochs 100000 >"$WORK/$name.log" 2>&1 &
  pid=$!
  wait_for_new "$out/checkpoint.h5" none
  wait_for_new "$out/checkpoint.h5" "$(inode "$out/checkpoint.h5")"
  victim=$(rank_pid "$out" "$rank")
  kill -KILL "$victim"
  start=$(now)
  wait "$pid" || code=$?
  took=$(elapsed_ms "$start")
  [ "$code" -ne 0 ] || { cat "$WORK/$name.log" >&2; fail "the job exited 0 after losing rank $rank"; }
  [ "$took" -lt "$FAULT_LIMIT_MS" ] || fail "the job took $took ms to end after rank $rank was killed"
  ! grep -q "test_loss:" "$WORK/$name.log" || fail "the run had finished before the kill: the case tests nothing"
  expect_text "$WORK/$name.log" "rank $rank .*(signal 9|Killed)"
  if pgrep -f "^$DIST .*--out-dir $out( |$)" >/dev/null; then fail "a rank of the killed job is still running"; fi
  verified "$out/checkpoint.h5"
  echo "  $name: exit $code in $took ms after the kill; $(grep -m1 -E "rank $rank .*(signal 9|Killed)" "$WORK/$name.log")"
  expect_exit 0 "$WORK/$name.resume.log" mpi 2 "${args[@]}" --epochs 8 --resume auto
  expect_text "$WORK/$name.resume.log" "Resumed at epoch [0-9]+, step [0-9]+ of the epoch"
  expect_text "$WORK/$name.resume.log" "test_loss: [0-9.]+ - test_accuracy: [0-9.]+"
  verified "$out/checkpoint.h5"
}
case_ sigkill_rank1 kill_rank sigkill_rank1 1
case_ sigkill_rank0 kill_rank sigkill_rank0 0

# Five SIGUSR1 stops, each at a later step than the one before, and each followed by
# --resume auto, end with the same weights and optimizer state, byte for byte, as one run.
five_stops() {
  # 30 epochs of 14 steps: long enough that each resumed run is still training when its signal
  # comes, even on a fast machine.
  local args=("${SMALL[@]}" --batch-size 16 --epochs 30 --seed 11 --checkpoint-every 1)
  local out=$WORK/stops ref=$WORK/reference prev=-1 i pid code start took step log resume=()
  expect_exit 0 "$WORK/reference.log" mpi 2 "${args[@]}" --out-dir "$ref"
  for i in 1 2 3 4 5; do
    log=$WORK/stop$i.log
    local before
    before=$(inode "$out/checkpoint.h5")
    mpi 2 "${args[@]}" --out-dir "$out" "${resume[@]}" >"$log" 2>&1 &
    pid=$!
    wait_for_new "$out/checkpoint.h5" "$before"  # this run has taken a step
    sleep "0.0$i"
    pkill -USR1 -f "^mpirun .*--out-dir $out( |$)" || fail "mpirun not found"
    start=$(now)
    code=0
    wait "$pid" || code=$?
    took=$(elapsed_ms "$start")
    [ "$code" -eq 75 ] || { cat "$log" >&2; fail "stop $i: exit code $code, expected 75"; }
    [ "$took" -lt "$FAULT_LIMIT_MS" ] || fail "stop $i: the job took $took ms to stop"
    expect_text "$log" "Stopped by a signal after step [0-9]+"
    step=$(grep -Eo "after step [0-9]+" "$log" | grep -Eo "[0-9]+")
    [ "$step" -gt "$prev" ] || fail "stop $i came after step $step, not after step $prev"
    [ "$step" -lt 420 ] || fail "stop $i came after the last step: the case tests nothing"
    verified "$out/checkpoint.h5"
    echo "  stop $i: after step $step, exit 75 in $took ms"
    prev=$step
    resume=(--resume auto)
  done
  expect_exit 0 "$WORK/final.log" mpi 2 "${args[@]}" --out-dir "$out" --resume auto
  expect_text "$WORK/final.log" "test_loss:"
  same_weights "$ref/checkpoint.h5" "$out/checkpoint.h5" 0
  # The per-epoch history (running means over an epoch that was interrupted) matches too.
  diff <(cut -d, -f1-5 "$ref/history.csv") <(cut -d, -f1-5 "$out/history.csv") >&2 ||
    fail "history.csv differs from the uninterrupted run's"
  [ "$(tail -n1 "$WORK/reference.log")" = "$(tail -n1 "$WORK/final.log")" ] ||
    fail "test figures differ: $(tail -n1 "$WORK/reference.log") vs $(tail -n1 "$WORK/final.log")"
}
case_ sigusr1_five_stops five_stops

# --lr 1e6: the loss becomes NaN or infinite; every rank exits 5 with one message, and the
# checkpoint of the step before (written with --checkpoint-every 1) is kept and verifies.
diverge() {
  local out=$WORK/diverge bad kept
  run_case diverge 5 "(diverged|NaN|infinite).* at step [0-9]+.*last finite checkpoint" 2 \
    "${SMALL[@]}" --batch-size 16 --epochs 3 --checkpoint-every 1 --lr 1e6 --out-dir "$out"
  verified "$out/checkpoint.h5"
  bad=$(grep -Eo "at step [0-9]+" "$WORK/diverge.log" | grep -Eo "[0-9]+")
  kept=$("$INSPECT" "$out/checkpoint.h5" | grep -Eo "optimizer steps +[0-9]+" | grep -Eo "[0-9]+$")
  [ "$kept" -eq $((bad - 1)) ] || fail "the kept checkpoint is at step $kept, expected $((bad - 1))"
}
case_ lr_1e6_diverges diverge
summary
