# Stalls in mid-training on 3 emulated nodes over TCP, one cluster for both cases (tests/cluster/lib.sh:
# stall_case; each ends with exit 6, no process left, the checkpoint verified and the run finished by
# --resume auto on nodes 1 and 2):
# - every process of node3 frozen (its Open MPI daemon and rank), mpirun's output tagged and
#   timestamped: rank 0 names node3; mpirun would wait for the frozen daemon forever, and
#   launch/mpirun.sh, which learns of the verdict from the rank's status file, not from that output,
#   ends it FMNIST_ABORT_GRACE (10 s) later: within --stall-timeout + 30 s. Thawed, node3's processes end.
# - rank 0 alone frozen: the other ranks hear nothing from it and name it and its node.
source "$(dirname "$0")/../mpi/lib.sh"
source "$(dirname "$0")/lib.sh"
freeze_node() { local p; for p in $(pids_on "$1"); do kill -STOP "$p"; done; }
thaw_node() { local p; for p in $(pids_on "$1"); do kill -CONT "$p"; done; }
cluster_up 3
EXTRA_OPTS="--tag-output --timestamp-output" SLACK=30 stall_case frozen_node 6 \
  "\[1,0\]<stderr>:fmnist_dist: rank 0: no word from rank 2 \(node3\) for [0-9]+ s at step [0-9]+ \(epoch [0-9]+\); aborting" \
  'freeze_node 3' 'thaw_node 3'
expect_text "$WORK/frozen_node.log" "^launch/mpirun.sh: [0-9:]+ mpirun is still running 10 s after rank 0 ended the job with exit 6"
stall_case frozen_root 6 "rank [12]: no word from rank 0 \(node1\) for [0-9]+ s at step [0-9]+ \(epoch [0-9]+\); aborting" \
  'kill -STOP "$(rank_pid_on 1 "$MARK")"'
echo "1 passed, 0 failed"
