# Rank 0 frozen with SIGSTOP in mid-training (3 nodes over TCP): the other ranks hear nothing
# from it, name it and its node, and the job ends with exit 6 (tests/cluster/lib.sh: stall_case).
source "$(dirname "$0")/../mpi/lib.sh"
source "$(dirname "$0")/lib.sh"
stall_case frozen_root 6 "rank [12]: no word from rank 0 \(node1\) for [0-9]+ s at step [0-9]+ \(epoch [0-9]+\); aborting" \
  'kill -STOP "$(rank_pid_on 1 "$MARK")"'
