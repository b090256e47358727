# SIGUSR1 to mpirun: the flag travels in the next allreduce, rank 0 writes a checkpoint,
# every rank exits with 75; --resume auto then finishes the run.
source "$(dirname "$0")/lib.sh"
mpi 2 "${SMALL[@]}" --batch-size 16 --epochs 100000 --out-dir "$WORK/run" >"$WORK/run.log" 2>&1 &
pid=$!
for _ in $(seq 600); do [ -f "$WORK/run/checkpoint.h5" ] && break; sleep 0.1; done
[ -f "$WORK/run/checkpoint.h5" ] || fail "no checkpoint after 60 s"
sleep 1
pkill -USR1 -f "^mpirun .*fmnist_dist.*$WORK/run" || fail "mpirun not found"
start=$(now)
code=0
wait "$pid" || code=$?
took=$(elapsed_ms "$start")
[ "$code" -eq 75 ] || { cat "$WORK/run.log" >&2; fail "exit code $code, expected 75"; }
[ "$took" -lt 10000 ] || fail "the job took ${took} ms to stop"
expect_text "$WORK/run.log" "Stopped by a signal after step [0-9]+"
verified "$WORK/run/checkpoint.h5"
step=$(grep -Eo "after step [0-9]+" "$WORK/run.log" | grep -Eo "[0-9]+")
expect_exit 0 "$WORK/resume.log" mpi 2 "${SMALL[@]}" --batch-size 16 --epochs 100000 --out-dir "$WORK/run" \
  --resume auto --max-steps $((step + 3))
expect_text "$WORK/resume.log" "Resumed at epoch"
expect_text "$WORK/resume.log" "Reached --max-steps $((step + 3))"
echo "1 passed, 0 failed"
