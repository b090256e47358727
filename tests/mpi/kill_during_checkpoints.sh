# SIGKILL of rank 0 while it writes a checkpoint after every step never leaves a checkpoint.h5
# that fails --verify (temporary file, fsync, rename), and --resume auto goes on from it.
source "$(dirname "$0")/lib.sh"
for delay in 0.7 1.1 1.6; do
  out="$WORK/kill$delay"
  mpi 2 "${SMALL[@]}" --batch-size 8 --epochs 1000 --checkpoint-every 1 --out-dir "$out" >"$WORK/log$delay" 2>&1 &
  pid=$!
  for _ in $(seq 600); do [ -f "$out/checkpoint.h5" ] && break; sleep 0.1; done
  [ -f "$out/checkpoint.h5" ] || fail "no checkpoint after 60 s"
  sleep "$delay"
  rank0=$(pgrep -f "^$DIST .*--out-dir $out" | head -n 1)
  [ -n "$rank0" ] || fail "no rank process found"
  kill -KILL "$rank0"
  start=$(now)
  wait "$pid" || true
  [ "$(elapsed_ms "$start")" -lt 10000 ] || fail "the job took more than 10 s to end after SIGKILL"
  verified "$out/checkpoint.h5"
  ls "$out" | grep -q "\.tmp" && echo "note: a temporary file was left behind: $(ls "$out")"
done
expect_exit 0 "$WORK/resume.log" mpi 2 "${SMALL[@]}" --batch-size 8 --epochs 1000 --out-dir "$WORK/kill0.7" \
  --resume auto --max-steps 400
expect_text "$WORK/resume.log" "Resumed at epoch"
echo "1 passed, 0 failed"
