# A rank frozen (SIGSTOP) at any moment of a run, from before MPI_Init to just before MPI_Finalize,
# ends the job (mpirun -np 2, --stall-timeout 5) with exit 6 within the timeout + 15 s, the message
# names the late rank and its host where the other side can know them (MPI_Init and MPI_Finalize
# cannot: they name the waiting rank), and no process is left. The freezes come from the test-only
# hook FMNIST_TEST_FREEZE=RANK:POINT (src/train/test_hooks.hpp); before MPI_Init a wrapper stops itself.
# Prints the detection time (freeze to the end of the job) of every moment.
source "$(dirname "$0")/lib.sh"
STALL=5
HOST=$(hostname)
LIMIT_MS=$(((STALL + 15) * 1000))

# stopped_since OUT: waits (bounded, 60 s) until a process of the job with --out-dir OUT is stopped
# (state T), then prints the time in ms.
stopped_since() {
  local p
  for _ in $(seq 600); do
    for p in $(pgrep -f -- "--out-dir $1( |$)"); do
      if [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" = T ]; then now; return 0; fi
    done
    sleep 0.1
  done
  fail "no process of the job in $1 stopped within 60 s"
}

# frozen NAME POINT REGEX [ARGS...]: FMNIST_TEST_FREEZE=POINT (or, for POINT "1:before_init", a
# wrapper that stops rank 1 before it execs fmnist_dist); the output must match REGEX.
frozen() {
  local name=$1 point=$2 regex=$3 out=$WORK/$1 log=$WORK/$1.log pid code=0 stopped took
  shift 3
  local args=("${SMALL[@]}" --batch-size 16 --micro-batch 8 --epochs 2 --stall-timeout $STALL --out-dir "$out" "$@")
  if [ "$point" = 1:before_init ]; then
    # shellcheck disable=SC2016
    timeout -k 5 90 "$SRC/launch/mpirun.sh" 2 bash -c '[ "$OMPI_COMM_WORLD_RANK" != 1 ] || kill -STOP $$; exec "$@"' \
      sh "$DIST" "${args[@]}" >"$log" 2>&1 &
  else
    FMNIST_TEST_FREEZE=$point mpi 2 "${args[@]}" >"$log" 2>&1 &
  fi
  pid=$!
  stopped=$(stopped_since "$out")
  wait "$pid" || code=$?
  took=$(elapsed_ms "$stopped")
  [ "$code" -eq 6 ] || { cat "$log" >&2; fail "exit code $code, expected 6"; }
  [ "$took" -lt "$LIMIT_MS" ] || fail "the job took $took ms to end after the freeze"
  expect_text "$log" "$regex"
  # mpirun has ended; the processes it killed may take a moment to be reaped: wait for that (bounded).
  for _ in $(seq 100); do pgrep -f -- "--out-dir $out( |$)" >/dev/null || break; sleep 0.1; done
  if pgrep -f -- "--out-dir $out( |$)" >/dev/null; then fail "a process of the job is still there 10 s after it ended"; fi
  printf '  %-22s detected and ended in %5d ms: %s\n' "$point" "$took" "$(grep -m1 -E "$regex" "$log" | cut -c1-160)"
}

late() { echo "^fmnist_dist: rank $2: no word from rank $1 \\($HOST\\) for [0-9]+ s $3; aborting"; }
options="in the start-up check of the options"
# Each case waits mostly for the watchdog (STALL seconds): three run at once (lib.sh: later).
check_freeze() { later "$1" frozen "$@"; }

check_freeze before_init 1:before_init "^fmnist_dist: rank 0 \\($HOST\\): MPI_Init has not completed in [0-9]+ s"
check_freeze start_rank1 1:start "$(late 1 0 "$options")"
check_freeze start_rank0 0:start "$(late 0 1 "$options")"
check_freeze first_step_rank1 1:first_step "$(late 1 0 "at step 1 \\(epoch 1\\)")"
check_freeze first_step_rank0 0:first_step "$(late 0 1 "at step 1 \\(epoch 1\\)")"
check_freeze middle_rank1 1:step=7 "$(late 1 0 "at step 7 \\(epoch 1\\)")"
check_freeze middle_rank0 0:step=7 "$(late 0 1 "at step 7 \\(epoch 1\\)")"
check_freeze evaluation_rank0 0:evaluation "$(late 0 1 "at step 15 \\(epoch 2\\)")"
check_freeze evaluation_rank1 1:evaluation "$(late 1 0 "in the evaluation after step 14 \\(epoch 1\\)")" --eval-ranks all
check_freeze test_evaluation_rank0 0:test_evaluation "$(late 0 1 "at the end of the run, after step 28 \\(epoch 2\\)")"
check_freeze last_checkpoint_rank0 0:last_checkpoint "$(late 0 1 "at the end of the run, after step 28 \\(epoch 2\\)")"
check_freeze shutdown_rank1 1:shutdown "^fmnist_dist: rank 0 \\($HOST\\): MPI_Finalize has not completed in [0-9]+ s"
check_freeze shutdown_rank0 0:shutdown "^fmnist_dist: rank 1 \\($HOST\\): MPI_Finalize has not completed in [0-9]+ s"
PARALLEL_CASES=3 run_queued
summary
