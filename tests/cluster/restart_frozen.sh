# Every process of node3 (its sshd, Open MPI daemon and rank) frozen with SIGSTOP in mid-epoch, on 3
# emulated nodes reached by ssh (tests/cluster/lib.sh), twice:
# - without FMNIST_RESTARTS, mpirun's output tagged and timestamped (--tag-output --timestamp-output):
#   rank 0's watchdog names node3; mpirun waits for the frozen daemon forever, so launch/mpirun.sh,
#   which learns of the verdict from the rank's status file, not from mpirun's output, ends it
#   FMNIST_ABORT_GRACE (the default, 10 s) later: exit 6 within --stall-timeout + 30 s; nodes 1 and 2
#   keep no process but their sshd; the checkpoint verifies. Thawed, node3's daemon and rank end by themselves.
# - with FMNIST_RESTARTS=2: the job ends the same way (exit 6), the probe of node3 gets no answer (twice),
#   node3 is dropped; the job resumes on nodes 1 and 2 with the uninterrupted run's weights, bit for bit
#   (restart_case). Thawed, node3's processes end by themselves.
source "$(dirname "$0")/../mpi/lib.sh"
source "$(dirname "$0")/lib.sh"
freeze_node() { local p; for p in $(pids_on 3); do kill -STOP "$p"; done; }
thaw_node() { local p; for p in $(pids_on 3); do kill -CONT "$p"; done; }
cluster_up 3
ssh_up

out=$WORK/no_restart/out
log=$WORK/no_restart.log
EXTRA_OPTS="--tag-output --timestamp-output" cluster_mpi 3 "${SMALL[@]}" --batch-size 16 --micro-batch 4 --seed 3 \
  --checkpoint-every 5 --stall-timeout "$STALL" --epochs 100000 --out-dir "$out" >"$log" 2>&1 &
pid=$!
wait_for_checkpoint "$out/checkpoint.h5"
freeze_node
start=$(now)
code=0
wait "$pid" || code=$?
took=$(elapsed_ms "$start")
echo "  frozen node, no restarts, --tag-output: exit $code after $took ms: $(grep -m1 -o "rank 0: no word.*" "$log")"
[ "$code" -eq 6 ] || { cat "$log" >&2; fail "exit code $code, expected 6"; }
[ "$took" -lt $(((STALL + 30) * 1000)) ] || { cat "$log" >&2; fail "the job took $took ms to end"; }
expect_text "$log" "\[1,0\]<stderr>:fmnist_dist: rank 0: no word from rank 2 \(node3\) for [0-9]+ s at step [0-9]+ \(epoch [0-9]+\); aborting"
expect_text "$log" "^launch/mpirun.sh: [0-9:]+ mpirun is still running 10 s after rank 0 ended the job with exit 6"
only_sshd_left 1 2
verified "$out/checkpoint.h5"
thaw_node
WITHIN=30 only_sshd_left 3

restart_case restart_frozen freeze_node
expect_text "$WORK/restart_frozen.log" "ended with exit 6"
expect_text "$WORK/restart_frozen.log" "dropping host $NET.13 \(1 slot\(s\)\): no answer within 5 s"
thaw_node
WITHIN=30 only_sshd_left 3
echo "1 passed, 0 failed"
