# launch/mpirun.sh with FMNIST_RESTARTS=2 on 3 emulated nodes reached by ssh: every process of
# node3 (its sshd, Open MPI daemon and rank) frozen with SIGSTOP in mid-epoch. The watchdog ends
# the job (exit 6; mpirun, which waits for the frozen daemon forever, is ended after
# FMNIST_ABORT_GRACE), the probe of node3 gets no answer, twice, and node3 is dropped; the job
# resumes on nodes 1 and 2 with the uninterrupted run's weights, bit for bit (tests/cluster/lib.sh:
# restart_case). Thawed afterwards, node3's daemon and rank find their job gone and end by themselves.
# Without restarts the same freeze ends the job with exit 6 (tests/cluster/frozen.sh).
source "$(dirname "$0")/../mpi/lib.sh"
source "$(dirname "$0")/lib.sh"
freeze_node() { local p; for p in $(pids_on 3); do kill -STOP "$p"; done; }
thaw_node() { local p; for p in $(pids_on 3); do kill -CONT "$p"; done; }
cluster_up 3
ssh_up

restart_case restart_frozen freeze_node
expect_text "$WORK/restart_frozen.log" "ended with exit 6"
# ssh's own ConnectTimeout (5 s, nodes.sh) may give up on the frozen sshd before the probe's 8 s.
expect_text "$WORK/restart_frozen.log" \
  "dropping host $NET.13 \(1 slot\(s\)\): (no answer within 8 s|the agent failed with exit 255: Connection timed out during banner exchange)"
thaw_node
WITHIN=30 only_sshd_left 3
echo "1 passed, 0 failed"
