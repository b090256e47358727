# launch/slurm.sbatch under a real single-node Slurm (see README: Running on several machines): munged, slurmctld and slurmd
# run from a temporary folder; scancel --signal=USR1 --batch reaches the script's trap, which forwards
# it to mpirun; the ranks write a checkpoint and exit 75; the script requeues the job and the
# requeued run resumes from the checkpoint and finishes. Exits 77 (skip) without Slurm or root.
export PATH=$PATH:/usr/sbin:/sbin
for tool in munged mungekey slurmctld slurmd sbatch scontrol scancel sinfo; do
  command -v "$tool" >/dev/null || {
    echo "SKIP: $tool is not installed (apt-get install slurm-wlm munge)"
    exit 77
  }
done
[ "$(id -u)" -eq 0 ] || {
  echo "SKIP: starting slurmd and munged needs root"
  exit 77
}
source "$(dirname "$0")/lib.sh"

# The daemons and the job: their state and logs live in $WORK; stopped by pid on any exit.
SLURM=$WORK/slurm
MUNGE=$WORK/munge
JOB=
LOG=$WORK/job.log
stop_daemons() { # stop_daemons PIDFILE...: SIGTERM, then SIGKILL to those alive after 5 s.
  local file pid alive pids=()
  for file in "$@"; do
    pid=$(cat "$file" 2>/dev/null) || continue
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && pids+=("$pid")
  done
  for _ in $(seq 50); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" -eq 1 ] || return 0
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
}
cleanup() {
  local code=$?
  if [ -n "$JOB" ]; then
    if [ "$code" -ne 0 ]; then
      scontrol show job "$JOB" >&2 || true
      [ -f "$LOG" ] && { echo "--- $LOG" >&2; cat "$LOG" >&2; }
    fi
    scancel "$JOB" 2>/dev/null || true
    for _ in $(seq 100); do
      [ -z "$(squeue -h -j "$JOB" 2>/dev/null)" ] && break
      sleep 0.1
    done
  fi
  if [ "$code" -ne 0 ]; then
    for log in "$SLURM/slurmctld.log" "$SLURM/slurmd.log" "$MUNGE/munged.log"; do
      [ -f "$log" ] && { echo "--- tail of $log" >&2; tail -n 20 "$log" >&2; }
    done
  fi
  stop_daemons "$SLURM/slurmd.pid" "$SLURM/slurmctld.pid" "$MUNGE/munged.pid"
  rm -rf "$WORK"
  exit "$code"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# free_port: a TCP port nobody listens on.
free_port() {
  local port
  for _ in $(seq 50); do
    port=$((20000 + RANDOM % 30000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
  fail "no free port"
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

# munged as the munge user, with its own key and socket (the munge user must reach them).
chmod 755 "$WORK"
mkdir -p "$MUNGE" "$SLURM/state" "$SLURM/spool"
chown munge:munge "$MUNGE"
runuser -u munge -- mungekey --create --keyfile="$MUNGE/munge.key"
runuser -u munge -- munged --socket="$MUNGE/munge.socket" --key-file="$MUNGE/munge.key" \
  --pid-file="$MUNGE/munged.pid" --log-file="$MUNGE/munged.log" --seed-file="$MUNGE/munged.seed" ||
  fail "munged did not start"

node=$(hostname -s)
ctld_port=$(free_port)
slurmd_port=$(free_port)
[ "$ctld_port" != "$slurmd_port" ] || slurmd_port=$((ctld_port + 1))
# Only our configuration counts, not the settings of a Slurm job this test may run inside.
for var in $(compgen -e | grep -E '^(SLURM|SBATCH|SALLOC|SRUN|SQUEUE|SINFO|SCANCEL|SCONTROL)_' || true); do
  unset "$var"
done
export SLURM_CONF=$SLURM/slurm.conf
# A minimal one-node cluster (root, munge auth, no cgroups: proctrack/linuxproc,
# task/none), plus: private munge socket and ports; cred_expire=10 because a requeued job
# may start again only cred_expire seconds (default 120) after its requeue, and sched_interval=1
# so that the scheduler then starts it within a second (default: its next pass, up to 60 s).
cat >"$SLURM_CONF" <<EOF
ClusterName=fmnisttest
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
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
StateSaveLocation=$SLURM/state
SlurmdSpoolDir=$SLURM/spool
SlurmctldPidFile=$SLURM/slurmctld.pid
SlurmdPidFile=$SLURM/slurmd.pid
SlurmctldLogFile=$SLURM/slurmctld.log
SlurmdLogFile=$SLURM/slurmd.log
NodeName=$node NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=test Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
: >"$SLURM/plugstack.conf"
echo "PlugStackConfig=$SLURM/plugstack.conf" >>"$SLURM_CONF"
slurmctld || fail "slurmctld did not start"
slurmd || fail "slurmd did not start"
node_idle() { [ "$(sinfo -h -n "$node" -o %t)" = idle ]; }
wait_for 30 "node $node idle in sinfo" node_idle

# The program the batch script runs: fmnist_dist, except that the requeued run (a checkpoint
# exists) also gets the arguments the test writes to resume.args, so that it ends by itself.
OUT=$WORK/run
cat >"$WORK/fmnist_dist" <<EOF
#!/usr/bin/env bash
if [ -f "$OUT/checkpoint.h5" ]; then
  for _ in \$(seq 300); do [ -f "$WORK/resume.args" ] && break; sleep 0.1; done
  exec "$DIST" "\$@" \$(cat "$WORK/resume.args")
fi
exec "$DIST" "\$@"
EOF
chmod +x "$WORK/fmnist_dist"

JOB=$(cd "$SRC" && FMNIST_DIST=$WORK/fmnist_dist sbatch --parsable -n 2 --time=10 --output="$LOG" \
  launch/slurm.sbatch "${SMALL[@]}" --batch-size 16 --epochs 100000 --out-dir "$OUT") ||
  fail "sbatch failed"
JOB=${JOB%%;*}
job_field() { scontrol show job -o "$JOB" | grep -Eo "(^| )$1=[^ ]*" | cut -d= -f2; }
job_state() { [ "$(job_field JobState)" = "$1" ]; }
wait_for 30 "job $JOB running" job_state RUNNING
checkpoint_or_ended() { [ -f "$OUT/checkpoint.h5" ] || ! job_state RUNNING; }
wait_for 60 "a checkpoint from job $JOB" checkpoint_or_ended
job_state RUNNING || fail "job $JOB ended before writing a checkpoint"
sleep 1

scancel --signal=USR1 --batch "$JOB" || fail "scancel --signal=USR1 --batch $JOB failed"
wait_for 20 "'Stopped by a signal' in the job log" grep -Eq "Stopped by a signal after step [0-9]+" "$LOG"
step=$(grep -Eo "Stopped by a signal after step [0-9]+" "$LOG" | head -n 1 | grep -Eo "[0-9]+$")
echo "--max-steps $((step + 3))" >"$WORK/resume.args"
job_done() {
  case $(job_field JobState) in
    PENDING | CONFIGURING | RUNNING | COMPLETING | REQUEUED | REQUEUE_FED | RESIZING) return 1 ;;
  esac
}
wait_for 60 "job $JOB done after its requeue" job_done
job_state COMPLETED || fail "job $JOB: JobState=$(job_field JobState), expected COMPLETED"
expect_text "$LOG" "slurm.sbatch: forwarding SIGUSR1 to mpirun"
expect_text "$LOG" "slurm.sbatch: fmnist_dist exited with 75"
[ "$(job_field Restarts)" = 1 ] || fail "job $JOB: Restarts=$(job_field Restarts), expected 1"
[ "$(job_field ExitCode)" = 0:0 ] || fail "job $JOB: ExitCode=$(job_field ExitCode), expected 0:0"
# The requeued run (appended to the same log) resumed from the checkpoint and finished.
sed -n '/Stopped by a signal/,$p' "$LOG" >"$WORK/after_stop.log"
expect_text "$WORK/after_stop.log" "Resumed at epoch"
expect_text "$WORK/after_stop.log" "Reached --max-steps $((step + 3))"
expect_text "$WORK/after_stop.log" "slurm.sbatch: fmnist_dist exited with 0"
verified "$OUT/checkpoint.h5"
echo "1 passed, 0 failed"
