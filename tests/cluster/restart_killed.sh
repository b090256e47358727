# launch/mpirun.sh with FMNIST_RESTARTS=2 on 3 emulated nodes reached by ssh: every process of
# node3 (its sshd, Open MPI daemon and rank) killed in mid-epoch. mpirun ends with a lost-rank code
# (205 for the lost daemon, or 141 when a rank wrote to node3's closed socket first), the probe is
# refused by node3, which is dropped; the job resumes on nodes 1 and 2 and ends with the
# uninterrupted run's weights, bit for bit (tests/cluster/lib.sh: restart_case). Without
# FMNIST_RESTARTS the same loss ends the job with exit 205, naming node3, and nothing restarts.
source "$(dirname "$0")/../mpi/lib.sh"
source "$(dirname "$0")/lib.sh"
cluster_up 3
ssh_up
restart_case restart_killed 'kill_node 3'
expect_text "$WORK/restart_killed.log" "ended with exit [0-9]+ \\(a rank or node was lost\\)"
expect_text "$WORK/restart_killed.log" "dropping host $NET.13 \(1 slot\(s\)\): the agent failed with exit 255"
only_sshd_left 3

start_sshd 3
wait_for_sshd 3
out=$WORK/no_restart
cluster_mpi 3 "${SMALL[@]}" --batch-size 16 --micro-batch 4 --seed 3 --checkpoint-every 5 --epochs 100 \
  --out-dir "$out" >"$out.log" 2>&1 &
pid=$!
wait_for_checkpoint "$out/checkpoint.h5"
kill_node 3
got=0
wait "$pid" || got=$?
[ "$got" -eq 205 ] || { cat "$out.log" >&2; fail "without FMNIST_RESTARTS the job exited $got, expected 205"; }
expect_text "$out.log" "Remote daemon: .* on node $NET\.13"
! grep -q "launch/mpirun.sh:" "$out.log" || { cat "$out.log" >&2; fail "launch/mpirun.sh restarted without FMNIST_RESTARTS"; }
only_sshd_left 1 2 3
verified "$out/checkpoint.h5"
echo "  without FMNIST_RESTARTS: exit 205 naming node3, no restart"
echo "1 passed, 0 failed"
