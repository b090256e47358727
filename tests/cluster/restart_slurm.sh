# launch/slurm.sbatch with --no-kill and FMNIST_RESTARTS=1 on two emulated Slurm nodes (set up as in
# tests/cluster/slurm.sh): every process of node2 (slurmd, Open MPI's daemon, the rank) killed in
# mid-epoch. launch/mpirun.sh's probe through srun gets no answer from node2, which is dropped; the
# job continues on node1 alone with --resume auto in the same allocation and ends with the
# uninterrupted run's weights, bit for bit. Skipped without Slurm and munge.
export PATH=$PATH:/usr/sbin:/sbin
for tool in munged mungekey slurmctld slurmd sbatch scontrol sinfo srun; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (apt-get install slurm-wlm munge)"; exit 77; }
done
source "$(dirname "$0")/../mpi/lib.sh"
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/../mpi/slurm_lib.sh"
AT=(on 0)
cluster_up 2 head
cluster_slurm_up fmnistrestart

steps=300
args=("${SMALL[@]}" --batch-size 16 --micro-batch 4 --seed 3 --epochs 100 --max-steps "$steps" --checkpoint-every 5)
opts="--mca btl tcp,self --mca btl_tcp_if_include $NET.0/24 --mca oob_tcp_if_include $NET.0/24 --bind-to none"
opts+=" --mca mpi_yield_when_idle 1"
JOB=$(cd "$SRC" && FMNIST_RESTARTS=1 FMNIST_PROBE_TIMEOUT=5 FMNIST_DIST=$DIST FMNIST_MPIRUN_OPTS="$opts" on 0 \
  sbatch --parsable --no-kill -N 2 --ntasks-per-node=1 --time=10 --output="$LOG" launch/slurm.sbatch "${args[@]}" \
  --out-dir "$OUT") || fail "sbatch failed"
JOB=${JOB%%;*}
wait_for_checkpoint
for n in 1 2; do [ -n "$(job_pids_on "$n" "$OUT")" ] || fail "no process of the job on node$n"; done
kill_node 2
start=$(now)
wait_for 60 "the restart in the job log" grep -q "restart 1 of 1: 1 rank(s) on node1 with --resume auto" "$LOG"
took=$(elapsed_ms "$start")
wait_for 120 "the end of the job script" grep -q "slurm.sbatch: fmnist_dist exited with" "$LOG"
echo "  restart_slurm: restart $took ms after the fault; $(grep -m1 "dropping host" "$LOG" | cut -c1-160)"
[ -z "${SHOW_LOG:-}" ] || cat "$LOG"
# How the loss shows depends on timing: Open MPI's lost-daemon exit 205, or rank 0 killed by SIGPIPE
# (141) when it wrote to node2's closed socket first; launch/mpirun.sh treats both as a lost rank.
expect_text "$LOG" "ended with exit [0-9]+ \\(a rank or node was lost\\)"
expect_text "$LOG" "dropping host node2 \(1 slot\(s\)\)"
expect_text "$LOG" "Resumed at epoch"
expect_text "$LOG" "Reached --max-steps $steps"
expect_text "$LOG" "slurm.sbatch: fmnist_dist exited with 0"
expect_exit 0 "$WORK/reference.log" mpi 1 "${args[@]}" --out-dir "$WORK/reference"
same_weights "$WORK/reference/checkpoint.h5" "$OUT/checkpoint.h5" 0
[ -z "$(job_pids_on 1 "$OUT")" ] || fail "processes of the job left on node1"
echo "  restart_slurm: JobState=$(job_field JobState) NodeList=$(job_field NodeList), node2 $(on 0 sinfo -h -n node2 -o %t)"
echo "1 passed, 0 failed"
