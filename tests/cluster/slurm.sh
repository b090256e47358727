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

# Only our configuration counts, not that of a Slurm job this test may run inside.
for var in $(compgen -e | grep -E '^(SLURM|SBATCH|SALLOC|SRUN|SQUEUE|SINFO|SCANCEL|SCONTROL)_' || true); do
  unset "$var"
done
SLURM=$WORK/slurm
MUNGE=$WORK/munge
LOG=$WORK/job.log
JOB=
cluster_up 2 head
chmod 755 "$WORK"
mkdir -p "$MUNGE" "$SLURM/state" "$SLURM/spool"
chown munge:munge "$MUNGE"
runuser -u munge -- mungekey --create --keyfile="$MUNGE/munge.key"
# Every daemon runs inside a node namespace, so the teardown's kill of the namespaces ends it.
on 0 runuser -u munge -- munged --socket="$MUNGE/munge.socket" --key-file="$MUNGE/munge.key" \
  --pid-file="$MUNGE/munged.pid" --log-file="$MUNGE/munged.log" --seed-file="$MUNGE/munged.seed" ||
  fail "munged did not start"
export SLURM_CONF=$SLURM/slurm.conf
# As tests/mpi/slurm.sh, with per-node spool, pid and log files (%n) and the nodes' addresses;
# ports are those of this run's namespaces, so they meet no other Slurm.
cat >"$SLURM_CONF" <<CONF
ClusterName=fmnistcluster
SlurmctldHost=head($(addr_of 0))
SlurmctldPort=6817
SlurmdPort=6818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$MUNGE/munge.socket,cred_expire=10
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/builtin
SchedulerParameters=sched_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
MpiDefault=none
ReturnToService=2
KillWait=5
MailProg=/bin/true
PlugStackConfig=$SLURM/plugstack.conf
StateSaveLocation=$SLURM/state
SlurmdSpoolDir=$SLURM/spool/%n
SlurmctldPidFile=$SLURM/slurmctld.pid
SlurmdPidFile=$SLURM/slurmd.%n.pid
SlurmctldLogFile=$SLURM/slurmctld.log
SlurmdLogFile=$SLURM/slurmd.%n.log
NodeName=node1 NodeAddr=$(addr_of 1) CPUs=2 State=UNKNOWN
NodeName=node2 NodeAddr=$(addr_of 2) CPUs=2 State=UNKNOWN
PartitionName=test Nodes=node[1-2] Default=YES MaxTime=INFINITE State=UP
CONF
: >"$SLURM/plugstack.conf"
on_failure() {
  [ -n "$JOB" ] && on 0 scontrol show job "$JOB" >&2
  [ -f "$LOG" ] && { echo "--- $LOG" >&2; cat "$LOG" >&2; }
  for log in "$SLURM"/*.log; do echo "--- tail of $log" >&2; tail -n 15 "$log" >&2; done
}
CLEANUP_HOOKS+=('[ "$code" -eq 0 ] || on_failure')
on 0 slurmctld || fail "slurmctld did not start"
on 1 slurmd || fail "slurmd on node1 did not start"
on 2 slurmd || fail "slurmd on node2 did not start"

# wait_for SECONDS WHAT COMMAND...: polls COMMAND every 0.2 s until it succeeds.
wait_for() {
  local limit=$1 what=$2
  shift 2
  local end=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$end" ] || fail "$what: not after $limit s"
    sleep 0.2
  done
}
nodes_idle() { [ "$(on 0 sinfo -h -o %t | sort -u)" = idle ]; }
wait_for 30 "both nodes idle in sinfo" nodes_idle

# The program the batch script runs: fmnist_dist, except that the requeued run (a checkpoint
# exists) also gets the arguments the test writes to resume.args, so that it ends by itself.
OUT=$WORK/run
cat >"$WORK/fmnist_dist" <<WRAP
#!/usr/bin/env bash
if [ -f "$OUT/checkpoint.h5" ]; then
  for _ in \$(seq 300); do [ -f "$WORK/resume.args" ] && break; sleep 0.1; done
  exec "$DIST" "\$@" \$(cat "$WORK/resume.args")
fi
exec "$DIST" "\$@"
WRAP
chmod +x "$WORK/fmnist_dist"

args=("${SMALL[@]}" --batch-size 16 --micro-batch 8 --seed 9 --epochs 100000 --checkpoint-every 5)
# The transport of this cluster; no hostfile or agent: mpirun takes Slurm's allocation and srun.
opts="--mca btl tcp,self --mca btl_tcp_if_include $NET.0/24 --mca oob_tcp_if_include $NET.0/24 --bind-to none"
opts+=" --mca mpi_yield_when_idle 1 --display-map"
JOB=$(cd "$SRC" && FMNIST_DIST=$WORK/fmnist_dist FMNIST_MPIRUN_OPTS="$opts" on 0 sbatch --parsable -N 2 \
  --ntasks-per-node=1 --time=10 --output="$LOG" launch/slurm.sbatch "${args[@]}" --out-dir "$OUT") ||
  fail "sbatch failed"
JOB=${JOB%%;*}
job_field() { on 0 scontrol show job -o "$JOB" | grep -Eo "(^| )$1=[^ ]*" | cut -d= -f2; }
job_state() { [ "$(job_field JobState)" = "$1" ]; }
wait_for 30 "job $JOB running" job_state RUNNING
[ "$(job_field NodeList)" = "node[1-2]" ] || fail "job $JOB runs on $(job_field NodeList), expected node[1-2]"
checkpoint_or_ended() { [ -f "$OUT/checkpoint.h5" ] || ! job_state RUNNING; }
wait_for 60 "a checkpoint from job $JOB" checkpoint_or_ended
job_state RUNNING || fail "job $JOB ended before writing a checkpoint"
expect_text "$LOG" "Data for node: node2[[:space:]]+Num slots: 1"
# Both ranks run, one in each node's namespace.
for n in 1 2; do [ -n "$(job_pids_on "$n" "$OUT")" ] || fail "no process of the job on node$n"; done
sleep 1

on 0 scancel --signal=USR1 --batch "$JOB" || fail "scancel --signal=USR1 --batch $JOB failed"
wait_for 20 "'Stopped by a signal' in the job log" grep -Eq "Stopped by a signal after step [0-9]+" "$LOG"
step=$(grep -Eo "Stopped by a signal after step [0-9]+" "$LOG" | head -n 1 | grep -Eo "[0-9]+$")
echo "--max-steps $((step + 3))" >"$WORK/resume.args"
job_done() {
  case $(job_field JobState) in
    PENDING | CONFIGURING | RUNNING | COMPLETING | REQUEUED | REQUEUE_FED | RESIZING) return 1 ;;
  esac
}
wait_for 90 "job $JOB done after its requeue" job_done
job_state COMPLETED || fail "job $JOB: JobState=$(job_field JobState), expected COMPLETED"
expect_text "$LOG" "slurm.sbatch: forwarding SIGUSR1 to mpirun"
expect_text "$LOG" "slurm.sbatch: fmnist_dist exited with 75"
[ "$(job_field Restarts)" = 1 ] || fail "job $JOB: Restarts=$(job_field Restarts), expected 1"
sed -n '/Stopped by a signal/,$p' "$LOG" >"$WORK/after_stop.log"
expect_text "$WORK/after_stop.log" "Resumed at epoch"
expect_text "$WORK/after_stop.log" "2 rank\(s\)"
expect_text "$WORK/after_stop.log" "Reached --max-steps $((step + 3))"
expect_text "$WORK/after_stop.log" "slurm.sbatch: fmnist_dist exited with 0"
verified "$OUT/checkpoint.h5"
# The uninterrupted run (one process: N ranks give the same bytes) ends with the same weights.
expect_exit 0 "$WORK/reference.log" mpi 1 "${args[@]}" --max-steps $((step + 3)) --out-dir "$WORK/reference"
same_weights "$WORK/reference/checkpoint.h5" "$OUT/checkpoint.h5" 0
echo "  slurm: stopped after step $step, requeued, resumed on node[1-2], same weights at step $((step + 3))"
echo "1 passed, 0 failed"
