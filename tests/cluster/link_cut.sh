# node3's network link cut (ip link set ... down) in mid-training, 3 nodes over TCP, launched
# through launch/mpirun.sh with FMNIST_MPIRUN_OPTS as users run it: mpirun's out-of-band
# keepalive (set by launch/mpirun.sh) notices the lost node within about 10 s and ends the job,
# naming node3 (its address in the hostfile); node3's daemon notices it too and ends its rank,
# although it can reach no one (tests/cluster/lib.sh: stall_case). --stall-timeout is above that
# detection time, as docs/clusters.md advises: should the watchdog abort first, Open MPI's abort would wait
# for the cut node through TCP retransmissions (minutes).
source "$(dirname "$0")/../mpi/lib.sh"
source "$(dirname "$0")/lib.sh"
STALL=15
stall_case link_cut nonzero "Remote daemon: .* on node 10\.77\.0\.13|rank 0: no word from rank 2 \(node3\)" \
  'ip link set "${TAG}v3" down'
