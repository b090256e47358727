# Shared by the Slurm tests, tests/mpi/slurm.sh (one node, this machine), tests/cluster/slurm.sh
# and tests/cluster/restart_slurm.sh (two emulated nodes): munged, the slurm.conf lines all use,
# the two-node cluster, polling, the program a batch job runs, the job's fields, and the
# preemption: scancel --signal=USR1 --batch, then the requeued run to its end. AT (an array: empty, or `on 0` for the cluster's head node)
# runs munged and Slurm's client commands where the controller is. Needs mpi/lib.sh first.
AT=()
SLURM=$WORK/slurm
MUNGE=$WORK/munge
LOG=$WORK/job.log
OUT=$WORK/run
JOB=

# Only our configuration counts, not the settings of a Slurm job this test may run inside.
for var in $(compgen -e | grep -E '^(SLURM|SBATCH|SALLOC|SRUN|SQUEUE|SINFO|SCANCEL|SCONTROL)_' || true); do
  unset "$var"
done
export SLURM_CONF=$SLURM/slurm.conf

# start_munged: munged as the munge user, with its own key and socket (the munge user must reach them).
start_munged() {
  chmod 755 "$WORK"
  mkdir -p "$MUNGE" "$SLURM/state" "$SLURM/spool"
  chown munge:munge "$MUNGE"
  runuser -u munge -- mungekey --create --keyfile="$MUNGE/munge.key"
  "${AT[@]}" runuser -u munge -- munged --socket="$MUNGE/munge.socket" --key-file="$MUNGE/munge.key" \
    --pid-file="$MUNGE/munged.pid" --log-file="$MUNGE/munged.log" --seed-file="$MUNGE/munged.seed" ||
    fail "munged did not start"
}

# slurm_conf_common: the slurm.conf lines of both tests. A minimal cluster (root, munge auth, no
# cgroups: proctrack/linuxproc, task/none) with a private munge socket; cred_expire=10 because a
# requeued job may start again only cred_expire seconds (default 120) after its requeue, and
# sched_interval=1 so that the scheduler then starts it within a second (default: its next pass,
# up to 60 s).
slurm_conf_common() {
  : >"$SLURM/plugstack.conf"
  cat <<CONF
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
CONF
}

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

# write_wrapper: $WORK/fmnist_dist, the program the batch script runs: fmnist_dist, except that the
# requeued run (a checkpoint exists) also gets the arguments preempt_and_requeue writes to
# resume.args, so that it ends by itself.
write_wrapper() {
  cat >"$WORK/fmnist_dist" <<WRAP
#!/usr/bin/env bash
if [ -f "$OUT/checkpoint.h5" ]; then
  for _ in \$(seq 300); do [ -f "$WORK/resume.args" ] && break; sleep 0.1; done
  exec "$DIST" "\$@" \$(cat "$WORK/resume.args")
fi
exec "$DIST" "\$@"
WRAP
  chmod +x "$WORK/fmnist_dist"
}

job_field() { "${AT[@]}" scontrol show job -o "$JOB" | grep -Eo "(^| )$1=[^ ]*" | cut -d= -f2; }
job_state() { [ "$(job_field JobState)" = "$1" ]; }
job_done() {
  case $(job_field JobState) in
    PENDING | CONFIGURING | RUNNING | COMPLETING | REQUEUED | REQUEUE_FED | RESIZING) return 1 ;;
  esac
}
checkpoint_or_ended() { [ -f "$OUT/checkpoint.h5" ] || ! job_state RUNNING; }

# wait_for_checkpoint: the submitted job $JOB runs and has written a checkpoint.
wait_for_checkpoint() {
  wait_for 30 "job $JOB running" job_state RUNNING
  wait_for 60 "a checkpoint from job $JOB" checkpoint_or_ended
  job_state RUNNING || fail "job $JOB ended before writing a checkpoint"
}

# preempt_and_requeue SECONDS: scancel --signal=USR1 --batch; the ranks stop at step $step (set
# here), the job requeues itself, and its second run, told to end 3 steps later, completes within
# SECONDS; the log says so, from both runs. Leaves the second run's part of the log in
# $WORK/after_stop.log.
preempt_and_requeue() {
  "${AT[@]}" scancel --signal=USR1 --batch "$JOB" || fail "scancel --signal=USR1 --batch $JOB failed"
  wait_for 20 "'Stopped by a signal' in the job log" grep -Eq "Stopped by a signal after step [0-9]+" "$LOG"
  step=$(grep -Eo "Stopped by a signal after step [0-9]+" "$LOG" | head -n 1 | grep -Eo "[0-9]+$")
  echo "--max-steps $((step + 3))" >"$WORK/resume.args"
  wait_for "$1" "job $JOB done after its requeue" job_done
  job_state COMPLETED || fail "job $JOB: JobState=$(job_field JobState), expected COMPLETED"
  expect_text "$LOG" "slurm.sbatch: forwarding SIGUSR1 to mpirun"
  expect_text "$LOG" "slurm.sbatch: fmnist_dist exited with 75"
  [ "$(job_field Restarts)" = 1 ] || fail "job $JOB: Restarts=$(job_field Restarts), expected 1"
  sed -n '/Stopped by a signal/,$p' "$LOG" >"$WORK/after_stop.log"
  expect_text "$WORK/after_stop.log" "Resumed at epoch"
  expect_text "$WORK/after_stop.log" "Reached --max-steps $((step + 3))"
  expect_text "$WORK/after_stop.log" "slurm.sbatch: fmnist_dist exited with 0"
  verified "$OUT/checkpoint.h5"
}

# cluster_slurm_up NAME: Slurm on the emulated nodes of tests/cluster/ (after `cluster_up 2 head`):
# munged, slurmctld on the head node, one slurmd in each of node1 and node2, until both are idle
# in sinfo. Every daemon runs inside a node namespace, so the teardown's kill of the namespaces
# ends it. As tests/mpi/slurm.sh, with per-node spool, pid and log files (%n) and the nodes'
# addresses; ports are those of this run's namespaces, so they meet no other Slurm.
cluster_slurm_up() {
  start_munged
  {
    slurm_conf_common
    cat <<CONF
ClusterName=$1
SlurmctldHost=head($(addr_of 0))
SlurmctldPort=6817
SlurmdPort=6818
SlurmdSpoolDir=$SLURM/spool/%n
SlurmctldPidFile=$SLURM/slurmctld.pid
SlurmdPidFile=$SLURM/slurmd.%n.pid
SlurmctldLogFile=$SLURM/slurmctld.log
SlurmdLogFile=$SLURM/slurmd.%n.log
NodeName=node1 NodeAddr=$(addr_of 1) CPUs=2 State=UNKNOWN
NodeName=node2 NodeAddr=$(addr_of 2) CPUs=2 State=UNKNOWN
PartitionName=test Nodes=node[1-2] Default=YES MaxTime=INFINITE State=UP
CONF
  } >"$SLURM_CONF"
  CLEANUP_HOOKS+=('[ "$code" -eq 0 ] || slurm_job_failed')
  on 0 slurmctld || fail "slurmctld did not start"
  on 1 slurmd || fail "slurmd on node1 did not start"
  on 2 slurmd || fail "slurmd on node2 did not start"
  wait_for 30 "both nodes idle in sinfo" nodes_idle
}
nodes_idle() { [ "$(on 0 sinfo -h -o %t | sort -u)" = idle ]; }

# slurm_job_failed: the job, its log and the daemons' logs, when a cluster test failed.
slurm_job_failed() {
  [ -n "$JOB" ] && on 0 scontrol show job "$JOB" >&2
  [ -f "$LOG" ] && { echo "--- $LOG" >&2; cat "$LOG" >&2; }
  for log in "$SLURM"/*.log; do echo "--- tail of $log" >&2; tail -n 15 "$log" >&2; done
}
