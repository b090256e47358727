# A node's rank frozen at start-up (3 nodes over TCP, --stall-timeout 5): once as soon as its
# process exists, before MPI_Init (a wrapper stops itself), and once right after MPI_Init (the
# test-only hook FMNIST_TEST_FREEZE=2:start). Each time the job ends within the timeout + 15 s
# with exit 6 (or mpirun's own non-zero exit for a lost node), the message names the late rank and
# its node where the others can know it, and no process is left on any node.
source "$(dirname "$0")/../fault/lib.sh"
source "$(dirname "$0")/lib.sh"
LIMIT_MS=$(((STALL + 15) * 1000))

# node_stopped N MARKER: waits (bounded, 60 s) until a process of the job on node N is stopped; prints the time.
node_stopped() {
  local p
  for _ in $(seq 600); do
    for p in $(job_pids_on "$1" "$2"); do
      if [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" = T ]; then now; return 0; fi
    done
    sleep 0.1
  done
  fail "no process of the job stopped on node$1 within 60 s"
}

# frozen_start NAME WHEN REGEX: WHEN is before_init or start.
frozen_start() {
  local name=$1 when=$2 regex=$3 out=$WORK/$1/out log=$WORK/$1.log pid code=0 stopped took
  local args=("${SMALL[@]}" --batch-size 16 --micro-batch 4 --epochs 1 --stall-timeout "$STALL" --out-dir "$out")
  local opts
  opts="$(cluster_opts) -x FMNIST_TEST_FREEZE"
  if [ "$when" = before_init ]; then
    # shellcheck disable=SC2016
    FMNIST_MPIRUN_OPTS=$opts FMNIST_TEST_FREEZE="" on 1 timeout -k 5 90 "$SRC/launch/mpirun.sh" 3 \
      bash -c '[ "$OMPI_COMM_WORLD_RANK" != 2 ] || kill -STOP $$; exec "$@"' sh "$DIST" "${args[@]}" >"$log" 2>&1 &
  else
    FMNIST_MPIRUN_OPTS=$opts FMNIST_TEST_FREEZE=2:start on 1 timeout -k 5 90 "$SRC/launch/mpirun.sh" 3 \
      "$DIST" "${args[@]}" >"$log" 2>&1 &
  fi
  pid=$!
  stopped=$(node_stopped 3 "$out")
  wait "$pid" || code=$?
  took=$(elapsed_ms "$stopped")
  echo "  $name: exit $code $took ms after the freeze: $(grep -m1 -E -- "$regex" "$log" | cut -c1-200)"
  [ "$code" -ne 0 ] || { cat "$log" >&2; fail "the job exited 0"; }
  [ "$code" -eq 6 ] || grep -q "lost communication\|ORTE has lost" "$log" || { cat "$log" >&2; fail "exit code $code, expected 6"; }
  [ "$took" -lt "$LIMIT_MS" ] || { cat "$log" >&2; fail "the job took $took ms to end after the freeze"; }
  expect_text "$log" "$regex"
  wait_until_no_process 15
}

cluster_up 3
case_ before_init frozen_start before_init before_init \
  "^fmnist_dist: rank [01] \(node[12]\): MPI_Init has not completed in [0-9]+ s|lost communication"
# Rank 2 stops right after MPI_Init: its host name, sent then, may not have left node3 (over TCP a
# send needs the sender's progress), so rank 0 names the host when it has it, else says so.
case_ after_init frozen_start after_init start \
  "^fmnist_dist: rank 0: no word from rank 2 \((node3|host unknown)\) for [0-9]+ s in the start-up check of the options; aborting"
summary
