# launch/slurm.sbatch under a real single-node Slurm (docs/clusters.md: Batch systems): munged, slurmctld and slurmd
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
source "$(dirname "$0")/slurm_lib.sh"

# The daemons and the job: their state and logs live in $WORK; stopped by pid on any exit.
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

start_munged

node=$(hostname -s)
ctld_port=$(free_port)
slurmd_port=$(free_port)
[ "$ctld_port" != "$slurmd_port" ] || slurmd_port=$((ctld_port + 1))
# The shared lines, then this cluster of one node on private ports.
{
  slurm_conf_common
  cat <<EOF
ClusterName=fmnisttest
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmdSpoolDir=$SLURM/spool
SlurmctldPidFile=$SLURM/slurmctld.pid
SlurmdPidFile=$SLURM/slurmd.pid
SlurmctldLogFile=$SLURM/slurmctld.log
SlurmdLogFile=$SLURM/slurmd.log
NodeName=$node NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=test Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
} >"$SLURM_CONF"
slurmctld || fail "slurmctld did not start"
slurmd || fail "slurmd did not start"
node_idle() { [ "$(sinfo -h -n "$node" -o %t)" = idle ]; }
wait_for 30 "node $node idle in sinfo" node_idle

write_wrapper
JOB=$(cd "$SRC" && FMNIST_DIST=$WORK/fmnist_dist sbatch --parsable -n 2 --time=10 --output="$LOG" \
  launch/slurm.sbatch "${SMALL[@]}" --batch-size 16 --epochs 100000 --out-dir "$OUT") ||
  fail "sbatch failed"
JOB=${JOB%%;*}
wait_for_checkpoint
sleep 1
preempt_and_requeue 60
[ "$(job_field ExitCode)" = 0:0 ] || fail "job $JOB: ExitCode=$(job_field ExitCode), expected 0:0"
echo "1 passed, 0 failed"
