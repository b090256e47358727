# A remote rank frozen with SIGSTOP in mid-training (3 nodes over TCP): rank 0's watchdog names
# it and its node, and the job ends with exit 6 (tests/cluster/lib.sh: stall_case).
source "$(dirname "$0")/../mpi/lib.sh"
source "$(dirname "$0")/lib.sh"
stall_case frozen_rank 6 "rank 0: no word from rank 2 \(node3\) for [0-9]+ s at step [0-9]+ \(epoch [0-9]+\); aborting" \
  'kill -STOP "$(rank_pid_on 3 "$MARK")"'
