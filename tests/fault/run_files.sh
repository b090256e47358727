# A run owns its out-dir, and the files of a run agree after any crash (docs/training.md: One run
# per out-dir, After a crash). A second job on a folder in use is refused on every rank with exit 2
# naming the holder, and the lock dies with its holder; a fresh run does not replace another run's
# checkpoint (exit 2) unless --overwrite; --resume auto --run-id continues only the run it names
# (exit 4); rank 0 killed (SIGKILL) right after each of an epoch's four renames leaves files that
# disagree, and --resume auto brings them back to the bytes of an uninterrupted run (all but the
# wall times: history.csv's seconds, /history/seconds and /training's epoch_seconds); a restart by
# launch/mpirun.sh (FMNIST_RESTARTS) keeps the run id and, before the first checkpoint of a
# --resume FILE run, resumes from FILE again; FIFOs given as --resume, --model or data are refused.
source "$(dirname "$0")/lib.sh"
run=("${SMALL[@]}" --batch-size 16)

wait_for() {  # wait_for WHAT COMMAND...: until COMMAND succeeds, at most 60 s
  local what=$1
  shift
  for _ in $(seq 600); do "$@" && return 0; sleep 0.1; done
  fail "no $what after 60 s"
}
lock_id() { sed -n 's/^run_id \([0-9a-f]\{32\}\)$/\1/p' "$1/fmnist_dist.lock" 2>/dev/null; }
has_lock_id() { [ -n "$(lock_id "$1")" ]; }
file_id() { "$INSPECT" "$1" --json | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["training"]["run_id"])'; }

# A job holding the folder (rank 1 frozen at step 5, before any checkpoint, rank 0 waiting for it):
# a second job is refused on every rank, fresh or resuming; once the holder is killed, a new job runs.
in_use() {
  local out=$WORK/busy pid id holder
  FMNIST_TEST_FREEZE=1:step=5 mpi 2 "${run[@]}" --epochs 3 --out-dir "$out" >"$WORK/holder.log" 2>&1 &
  pid=$!
  wait_for "run id in $out/fmnist_dist.lock" has_lock_id "$out"
  id=$(lock_id "$out")
  holder=$(rank_pid "$out" 0)
  run_case busy_fresh 2 "^fmnist_dist: error: --out-dir $out: in use by another run \(host $(hostname), pid $holder, started [-0-9]+ [:0-9]+ UTC, run id $id\): wait for it to end, or choose another --out-dir" \
    2 "${run[@]}" --epochs 1 --out-dir "$out"
  expect_exit 2 "$WORK/busy_resume.log" mpi 2 "${run[@]}" --out-dir "$out" --resume auto
  expect_text "$WORK/busy_resume.log" "in use by another run \(host $(hostname), pid $holder"
  kill -KILL "$(rank_pid "$out" 1)" "$holder"
  wait "$pid" || true
  [ ! -f "$out/checkpoint.h5" ] || fail "the holder wrote a checkpoint before step 5"
  expect_exit 0 "$WORK/after.log" mpi 2 "${run[@]}" --max-steps 2 --out-dir "$out"
  [ "$(lock_id "$out")" != "$id" ] || fail "the next run did not record its own run id"
}
case_ out_dir_in_use in_use

# A finished run's folder (a copy of the reference below): a fresh run is refused (exit 2, the
# folder's run named) and the files stay; --overwrite deletes them and starts another run;
# --resume auto --run-id of another run: exit 4 naming both ids; with its own id the run continues.
owned() {
  local out=$WORK/owned first=crash-test second
  cp -r "$WORK/reference" "$out"
  expect_exit 2 "$WORK/fresh_refused.log" mpi 2 "${run[@]}" --epochs 2 --out-dir "$out"
  expect_text "$WORK/fresh_refused.log" "^fmnist_dist: error: --out-dir $out holds $out/checkpoint.h5 \(run $first, epoch 3 of 3\), which this run would replace: continue that run with --resume auto, choose another --out-dir, or add --overwrite to delete its files and start afresh$"
  same_files "$WORK/reference" "$out" || fail "the refused run changed the files"
  expect_exit 0 "$WORK/overwrite.log" mpi 2 "${run[@]}" --epochs 1 --out-dir "$out" --overwrite
  expect_text "$WORK/overwrite.log" "^--overwrite: deleted the 4 file\(s\) of the previous run in $out\.$"
  second=$(file_id "$out/checkpoint.h5")
  [[ $second =~ ^[0-9a-f]{32}$ ]] || fail "--overwrite's run has the id '$second'"
  [ "$(file_id "$out/best.h5")" = "$second" ] || fail "best.h5 is not of run $second"
  grep -q ",$second$" "$out/history.csv" || fail "history.csv lacks the run id $second"
  expect_exit 4 "$WORK/other_run_id.log" mpi 2 "${run[@]}" --epochs 2 --out-dir "$out" --resume auto --run-id "$first"
  expect_text "$WORK/other_run_id.log" "^fmnist_dist: error: $out/checkpoint.h5: belongs to run $second, not to run $first \(--run-id\)"
  expect_exit 0 "$WORK/same_id.log" mpi 2 "${run[@]}" --epochs 2 --out-dir "$out" --resume auto --run-id "$second"
  expect_text "$WORK/same_id.log" "Resuming run $second from $out/checkpoint.h5"
}

# The uninterrupted run (3 epochs of 14 steps; every epoch has a lower val_loss, so each writes
# all four files) that the crashed runs must match, and that one_run_per_out_dir starts from.
kill_run=("${run[@]}" --epochs 3 --seed 7 --run-id crash-test)
expect_exit 0 "$WORK/reference.log" mpi 2 "${kill_run[@]}" --out-dir "$WORK/reference"
[ "$(grep -c "^3,\|^2,\|^1," "$WORK/reference/history.csv")" -eq 3 ] || fail "the reference has no 3 epochs"
"$PYTHON" - "$WORK/reference/history.csv" <<'PY' || fail "the reference's val_loss does not fall every epoch: the kills test less"
import csv, sys
v = [float(r["val_loss"]) for r in csv.DictReader(open(sys.argv[1]))]
assert all(b < a for a, b in zip(v, v[1:])), v
PY

# same_files A B: the four files agree, but for wall times (compared: weights and optimizer state
# byte for byte, every /training attribute but epoch_seconds, the history but seconds, the evaluation,
# history.csv but its seconds column, learning_curve.svg byte for byte).
json_but_seconds() {
  "$INSPECT" "$1" --json | "$PYTHON" -c 'import json, sys
d = json.load(sys.stdin)
d.pop("file"); d["training"].pop("epoch_seconds"); d["history"].pop("seconds")
print(json.dumps(d, sort_keys=True))'
}
same_files() {
  local f
  for f in checkpoint.h5 best.h5; do
    [ -f "$2/$f" ] || return 1
    "$INSPECT" "$1/$f" --compare "$2/$f" >/dev/null 2>&1 || return 1
    [ "$(json_but_seconds "$1/$f")" = "$(json_but_seconds "$2/$f")" ] || return 1
  done
  [ "$(cut -d, -f1-6,8 "$1/history.csv")" = "$(cut -d, -f1-6,8 "$2/history.csv" 2>/dev/null)" ] || return 1
  cmp -s "$1/learning_curve.svg" "$2/learning_curve.svg"
}
same_files "$WORK/reference" "$WORK/reference" || fail "same_files does not accept a run's own files"
later one_run_per_out_dir owned

# killed_at FILE: rank 0 killed right after replacing FILE at the end of epoch 3; then --resume auto.
killed_at() {
  local file=$1 out=$WORK/killed_$1 code=0
  FMNIST_TEST_KILL_AT=after_rename:$file:3 mpi 2 "${kill_run[@]}" --out-dir "$out" >"$WORK/kill_$file.log" 2>&1 || code=$?
  [ "$code" -ne 0 ] || { cat "$WORK/kill_$file.log" >&2; fail "the job survived the kill after $file"; }
  ! grep -q "test_loss:" "$WORK/kill_$file.log" || fail "the run finished before the kill"
  # The negative control: a kill before the epoch's last rename leaves files that disagree.
  if [ "$file" != learning_curve.svg ] && same_files "$WORK/reference" "$out"; then
    fail "the files agree right after the kill after $file: the comparison cannot fail"
  fi
  expect_exit 0 "$WORK/resume_$file.log" mpi 2 "${kill_run[@]}" --out-dir "$out" --resume auto
  expect_text "$WORK/resume_$file.log" "Resuming run crash-test from $out/checkpoint.h5"
  same_files "$WORK/reference" "$out" || fail "after the kill after $file and --resume auto, the files differ from the uninterrupted run's"
  echo "  after $file (exit $code): resumed to the uninterrupted run's files"
}
for f in checkpoint.h5 best.h5 history.csv learning_curve.svg; do later "kill_after_$f" killed_at "$f"; done

# launch/mpirun.sh restarting a lost job (FMNIST_RESTARTS=1; the kill acts once, FMNIST_TEST_HOOK_ONCE):
# a fresh run gets a run id before its first attempt and keeps it; a --resume FILE run that lost rank
# 0 before its first checkpoint resumes from FILE again, and ends as an uninterrupted one.
restarted_fresh() {
  local out=$WORK/restart_fresh id
  FMNIST_RESTARTS=1 FMNIST_TEST_HOOK_ONCE=$WORK/once_fresh FMNIST_TEST_KILL_AT=after_rename:checkpoint.h5:2 \
    expect_exit 0 "$WORK/restart_fresh.log" mpi 2 "${run[@]}" --epochs 3 --seed 7 --out-dir "$out"
  id=$(grep -Eo "^Run [0-9a-f]{32} starts" "$WORK/restart_fresh.log" | cut -d' ' -f2)
  [ -n "$id" ] || fail "no run id in the first attempt's output"
  expect_text "$WORK/restart_fresh.log" "restart 1 of 1: 2 rank\(s\) on this machine with --resume auto --run-id $id$"
  expect_text "$WORK/restart_fresh.log" "Resuming run $id from $out/checkpoint.h5"
  [ "$(file_id "$out/checkpoint.h5")" = "$id" ] && [ "$(file_id "$out/best.h5")" = "$id" ] || fail "the files lost run id $id"
  same_weights "$WORK/reference/checkpoint.h5" "$out/checkpoint.h5" 0
}
later restart_keeps_the_run_id restarted_fresh

restarted_from_file() {
  local out=$WORK/restart_file whole=$WORK/from_file id
  make_base
  id=$(file_id "$BASE")
  expect_exit 0 "$WORK/from_file.log" mpi 2 "${run[@]}" --epochs 2 --out-dir "$whole" --resume "$BASE"
  FMNIST_RESTARTS=1 FMNIST_TEST_HOOK_ONCE=$WORK/once_file FMNIST_TEST_KILL_AT=step=6 \
    expect_exit 0 "$WORK/restart_file.log" mpi 2 "${run[@]}" --epochs 2 --out-dir "$out" --resume "$BASE"
  expect_text "$WORK/restart_file.log" "restart 1 of 1: 2 rank\(s\) on this machine with --resume $BASE --run-id $id$"
  [ "$(grep -c "Resuming run $id from $BASE" "$WORK/restart_file.log")" -eq 2 ] || fail "both attempts should resume from $BASE"
  same_weights "$whole/checkpoint.h5" "$out/checkpoint.h5" 0
}
later restart_before_the_first_checkpoint restarted_from_file

# FIFOs where files are expected (--resume, --model, the data): each job is refused at once with its
# code and a message naming the file, instead of waiting forever for a writer. The three run at once.
fifos() {
  local f code
  mkdir -p "$WORK/fifo_data"
  mkfifo "$WORK/fifo.h5" "$WORK/fifo.json"
  for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    mkfifo "$WORK/fifo_data/$f"
  done
  mkdir -p "$WORK/ompi.fifo1" "$WORK/ompi.fifo2" "$WORK/ompi.fifo3"  # a session folder for each mpirun
  OMPI_MCA_orte_tmpdir_base=$WORK/ompi.fifo1 mpi 2 "${run[@]}" --out-dir "$WORK/fifo1" --resume "$WORK/fifo.h5" \
    >"$WORK/fifo1.log" 2>&1 &
  local p1=$!
  OMPI_MCA_orte_tmpdir_base=$WORK/ompi.fifo2 mpi 2 "${run[@]}" --out-dir "$WORK/fifo2" --model "$WORK/fifo.json" \
    >"$WORK/fifo2.log" 2>&1 &
  local p2=$!
  OMPI_MCA_orte_tmpdir_base=$WORK/ompi.fifo3 mpi 2 --progress never --data-dir "$WORK/fifo_data" --out-dir "$WORK/fifo3" \
    >"$WORK/fifo3.log" 2>&1 &
  local p3=$!
  for f in "1 $p1 4" "2 $p2 2" "3 $p3 3"; do
    set -- $f
    code=0
    wait "$2" || code=$?
    [ "$code" -eq "$3" ] || { cat "$WORK/fifo$1.log" >&2; fail "fifo$1: exit $code, expected $3"; }
  done
  expect_text "$WORK/fifo1.log" "error: $WORK/fifo.h5: it is a FIFO \\(named pipe\\), not a regular file"
  expect_text "$WORK/fifo2.log" "error: --model $WORK/fifo.json: cannot open \\(it is a FIFO \\(named pipe\\), not a regular file\\)"
  expect_text "$WORK/fifo3.log" "error: $WORK/fifo_data/[a-z0-9-]+: cannot open \\(it is a FIFO \\(named pipe\\)"
}
later fifos_are_refused fifos

# The cases after the reference share nothing but its files, which none changes: three at a time.
PARALLEL_CASES=3 run_queued
summary
