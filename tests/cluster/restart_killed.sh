# launch/mpirun.sh with FMNIST_RESTARTS=2 on 3 emulated nodes reached by ssh: every process of
# node3 (its sshd, Open MPI daemon and rank) killed in mid-epoch. mpirun exits 205 (lost daemon),
# the probe is refused by node3, which is dropped; the job resumes on nodes 1 and 2 and ends with
# the uninterrupted run's weights, bit for bit (tests/cluster/lib.sh: restart_case).
source "$(dirname "$0")/../mpi/lib.sh"
source "$(dirname "$0")/lib.sh"
restart_case restart_killed 'kill_node 3'
expect_text "$WORK/restart_killed.log" "ended with exit 205"
expect_text "$WORK/restart_killed.log" "dropping host $NET.13 \(1 slot\(s\)\): the agent failed with exit 255"
echo "1 passed, 0 failed"
