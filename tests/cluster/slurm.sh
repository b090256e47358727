# launch/slurm.sbatch across two emulated nodes under a real Slurm (tests/cluster/lib.sh): one
# slurmd per node namespace, slurmctld on a head node, one munged; `sbatch -N 2` runs mpirun
# (through launch/mpirun.sh, FMNIST_MPIRUN_OPTS from the submitting shell) on node1, which starts
# node2's daemon through srun. Preemption: scancel --signal=USR1 --batch reaches the script's trap,
# the ranks checkpoint and exit 75, the job requeues itself, the requeued run resumes and ends at
# --max-steps with the same weight bytes as an uninterrupted run. Skipped without Slurm and munge.
export PATH=$PATH:/usr/sbin:/sbin
for tool in munged mungekey slurmctld slurmd sbatch scontrol scancel sinfo squeue; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (apt-get install slurm-wlm munge)"; exit 77; }
done
source "$(dirname "$0")/../mpi/lib.sh"
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/../mpi/slurm_lib.sh"
AT=(on 0)  # munged and Slurm's commands run on the head node
cluster_up 2 head
cluster_slurm_up fmnistcluster

write_wrapper
args=("${SMALL[@]}" --batch-size 16 --micro-batch 8 --seed 9 --epochs 100000 --checkpoint-every 5)
# The transport of this cluster; no hostfile or agent: mpirun takes Slurm's allocation and srun.
opts="--mca btl tcp,self --mca btl_tcp_if_include $NET.0/24 --mca oob_tcp_if_include $NET.0/24 --bind-to none"
opts+=" --mca mpi_yield_when_idle 1 --display-map"
JOB=$(cd "$SRC" && FMNIST_DIST=$WORK/fmnist_dist FMNIST_MPIRUN_OPTS="$opts" on 0 sbatch --parsable -N 2 \
  --ntasks-per-node=1 --time=10 --output="$LOG" launch/slurm.sbatch "${args[@]}" --out-dir "$OUT") ||
  fail "sbatch failed"
JOB=${JOB%%;*}
wait_for 30 "job $JOB running" job_state RUNNING
[ "$(job_field NodeList)" = "node[1-2]" ] || fail "job $JOB runs on $(job_field NodeList), expected node[1-2]"
wait_for_checkpoint
expect_text "$LOG" "Data for node: node2[[:space:]]+Num slots: 1"
# Both ranks run, one in each node's namespace.
for n in 1 2; do [ -n "$(job_pids_on "$n" "$OUT")" ] || fail "no process of the job on node$n"; done
sleep 1

preempt_and_requeue 90
expect_text "$WORK/after_stop.log" "2 rank\(s\)"
# The uninterrupted run (one process: N ranks give the same bytes) ends with the same weights.
expect_exit 0 "$WORK/reference.log" mpi 1 "${args[@]}" --max-steps $((step + 3)) --out-dir "$WORK/reference"
same_weights "$WORK/reference/checkpoint.h5" "$OUT/checkpoint.h5" 0
echo "  slurm: stopped after step $step, requeued, resumed on node[1-2], same weights at step $((step + 3))"
echo "1 passed, 0 failed"
