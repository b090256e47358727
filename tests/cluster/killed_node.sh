# Every process of node3 (its Open MPI daemon and its rank) killed with SIGKILL in mid-training:
# mpirun notices the lost daemon at once and ends the job with a non-zero code, naming the node
# (tests/cluster/lib.sh: stall_case).
source "$(dirname "$0")/../mpi/lib.sh"
source "$(dirname "$0")/lib.sh"
stall_case killed_node nonzero "Remote daemon: .* on node 10\.77\.0\.13" 'kill_node 3'
