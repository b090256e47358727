#!/usr/bin/env bash
# mpirun with the settings fmnist_dist is tested with, the one place for them (launch/slurm.sbatch
# and launch/pbs.sh call this script too). Usage: launch/mpirun.sh NP program [args]
#   - extra mpirun options from FMNIST_MPIRUN_OPTS (a hostfile, a launch agent, transport settings),
#     split on spaces, e.g. FMNIST_MPIRUN_OPTS="--hostfile hosts --mca btl tcp,self";
#   - the out-of-band TCP keepalive that makes mpirun notice a lost or cut-off node in about
#     10 s instead of Open MPI's default of about 8 minutes (docs/clusters.md: Several machines);
#   - --allow-run-as-root when run as root; on one machine with more ranks than cores (no
#     FMNIST_MPIRUN_OPTS, no batch allocation), --oversubscribe and yield when idle;
#   - FMNIST_RESTARTS=K (default 0: mpirun is exec'd, nothing else changes): when the job ends
#     because a rank or node was lost (exit 6 from the stall watchdog, 205 from Open MPI losing a
#     daemon, 129-191 a rank killed by a signal), the hosts of --hostfile/--host (or of the Slurm
#     allocation) that no longer answer a short probe through the launch agent (plm_rsh_agent,
#     srun in Slurm, pbsdsh in PBS, else ssh) are dropped and the job runs again with --resume
#     auto on the ranks left, at most K times. FMNIST_PROBE_TIMEOUT (s, default 10) bounds each
#     probe; FMNIST_ABORT_GRACE (s, default 20) is how long mpirun may take to end after the
#     watchdog aborted the job (a frozen node's daemon never answers the abort). Every attempt
#     continues the same run: a fresh run gets its --run-id here, before the first attempt; a
#     --resume run's id is read from OUT_DIR/fmnist_dist.lock, where rank 0 records it. A restart
#     resumes with --resume auto, or with the original --resume FILE again when the job had not
#     yet written a checkpoint (auto would then start afresh). docs/training.md: One run per out-dir.
set -euo pipefail
np=$1
shift
flags=()
[ "$(id -u)" -eq 0 ] && flags+=(--allow-run-as-root)
flags+=(--mca oob_tcp_keepalive_time 5 --mca oob_tcp_keepalive_intvl 2 --mca oob_tcp_keepalive_probes 2)
read -r -a extra <<<"${FMNIST_MPIRUN_OPTS:-}"
if [ "${#extra[@]}" -eq 0 ] && [ -z "${SLURM_JOB_ID:-}${PBS_JOBID:-}" ] && [ "$np" -gt "$(nproc)" ]; then
  flags+=(--oversubscribe --mca mpi_yield_when_idle 1)
fi
export OMP_NUM_THREADS=1
# setting NAME DEFAULT MIN: the environment variable NAME (DEFAULT when unset), a whole number >= MIN.
setting() {
  local value=${!1:-$2}
  [[ $value =~ ^[0-9]+$ ]] && [ "$value" -ge "$3" ] && { echo "$value"; return; }
  echo "launch/mpirun.sh: $1=$value: a whole number of at least $3 expected" >&2
  return 2
}
restarts=$(setting FMNIST_RESTARTS 0 0)
probe_timeout=$(setting FMNIST_PROBE_TIMEOUT 10 1)
abort_grace=$(setting FMNIST_ABORT_GRACE 20 1)
[ "$restarts" -gt 0 ] || exec mpirun -np "$np" "${flags[@]}" "${extra[@]}" "$@"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fmnist_mpirun.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
say() { echo "launch/mpirun.sh: $(date -u +%T) $*" >&2; }

# lost_rank CODE: true when mpirun's exit code says a rank or a node was lost.
lost_rank() { [ "$1" -eq 6 ] || [ "$1" -eq 205 ] || { [ "$1" -gt 128 ] && [ "$1" -lt 192 ]; }; }

# read_hosts: fills hosts/slots (one entry per host, slots summed over repeated entries) from
# --hostfile/--machinefile FILE and --host/-H LIST in extra; a host without a count has 1 slot.
read_hosts() {
  local i word name count line
  hosts=() slots=()
  for ((i = 0; i < ${#extra[@]}; i++)); do
    word=${extra[i]}
    case $word in
      --hostfile | -hostfile | --machinefile | -machinefile)
        while read -r line || [ -n "$line" ]; do
          line=${line%%#*}
          read -r name _ <<<"$line" || true
          [ -n "$name" ] || continue
          count=1
          [[ ! $line =~ [[:space:]]slots=([0-9]+) ]] || count=${BASH_REMATCH[1]}
          add_host "$name" "$count"
        done <"${extra[i + 1]}" ;;
      --host | -host | -H)
        for name in ${extra[i + 1]//,/ }; do
          count=${name#*:}
          [ "$count" != "$name" ] || count=1
          add_host "${name%%:*}" "$count"
        done ;;
    esac
  done
  [ "${#hosts[@]}" -gt 0 ] || [ -z "${SLURM_JOB_NODELIST:-}" ] || slurm_hosts
}

# slurm_hosts: the nodes of this Slurm allocation with their tasks (SLURM_TASKS_PER_NODE: "2(x3),1").
slurm_hosts() {
  local names counts=() part i
  mapfile -t names < <(scontrol show hostnames "$SLURM_JOB_NODELIST")
  for part in ${SLURM_TASKS_PER_NODE//,/ }; do
    if [[ $part =~ ^([0-9]+)\(x([0-9]+)\)$ ]]; then
      for ((i = 0; i < BASH_REMATCH[2]; i++)); do counts+=("${BASH_REMATCH[1]}"); done
    else
      counts+=("$part")
    fi
  done
  for i in "${!names[@]}"; do add_host "${names[i]}" "${counts[i]:-1}"; done
}

add_host() {
  local i
  for i in "${!hosts[@]}"; do
    [ "${hosts[i]}" = "$1" ] && { slots[i]=$((slots[i] + $2)); return; }
  done
  hosts+=("$1")
  slots+=("$2")
}

# launch_agent: the command mpirun reaches other hosts with, as words: plm_rsh_agent, else srun
# inside a Slurm allocation, pbsdsh inside a PBS one (Open MPI's tm launcher), else ssh.
launch_agent() {
  local i agent=${OMPI_MCA_plm_rsh_agent:-ssh}
  [ -z "${SLURM_JOB_ID:-}" ] || agent="srun --nodes=1 --ntasks=1 --overlap --nodelist"
  [ -z "${PBS_JOBID:-}" ] || agent="pbsdsh -h"
  for ((i = 0; i < ${#extra[@]}; i++)); do
    case ${extra[i]} in
      --mca | -mca) [ "${extra[i + 1]}" = plm_rsh_agent ] && agent=${extra[i + 2]} ;;
    esac
  done
  read -r -a agent_words <<<"${agent%%:*}"
}

# is_local HOST: HOST names the machine this script runs on (mpirun starts its ranks directly).
is_local() {
  case " localhost 127.0.0.1 $(hostname) $(hostname -s 2>/dev/null) $(hostname -I 2>/dev/null) " in
    *" $1 "*) return 0 ;;
  esac
  return 1
}

# probe_hosts: runs `AGENT HOST true` on every remote host at once, each bounded by
# probe_timeout; fills why[i] (empty when host i answered).
probe_hosts() {
  local i code pids=()
  why=()
  for i in "${!hosts[@]}"; do
    if is_local "${hosts[i]}"; then pids+=(""); continue; fi
    # In a subshell with its stderr closed: no "Killed" from bash when timeout has to SIGKILL
    # (srun ignores one SIGTERM; timeout then ends by the same signal).
    (timeout -k 2 "$probe_timeout" "${agent_words[@]}" "${hosts[i]}" true </dev/null >"$tmp/probe.$i" 2>&1 || exit $?) 2>/dev/null &
    pids+=("$!")
  done
  for i in "${!hosts[@]}"; do
    why[i]=""
    [ -n "${pids[i]}" ] || continue
    code=0
    wait "${pids[i]}" || code=$?
    case $code in
      0) ;;
      124 | 137) why[i]="no answer within ${probe_timeout} s" ;;
      *) why[i]="the agent failed with exit $code: $(tr '\n' ' ' <"$tmp/probe.$i" | cut -c1-160)" ;;
    esac
  done
}

# drop_lost_hosts: probes the hosts, writes the ones that answered to a new hostfile that
# replaces every host option in extra, and shrinks np to their slots. False when none is left.
drop_lost_hosts() {
  local i kept=() total=0 file=$tmp/hostfile.$attempt
  [ "${#hosts[@]}" -gt 0 ] || { say "no host list: restarting on this machine"; return 0; }
  probe_hosts
  : >"$file"
  for i in "${!hosts[@]}"; do
    if [ -n "${why[i]}" ]; then
      say "dropping host ${hosts[i]} (${slots[i]} slot(s)): ${why[i]}"
    else
      echo "${hosts[i]} slots=${slots[i]}" >>"$file"
      total=$((total + slots[i]))
    fi
  done
  [ "$total" -gt 0 ] || { say "no host answered"; return 1; }
  for ((i = 0; i < ${#extra[@]}; i++)); do
    case ${extra[i]} in
      --hostfile | -hostfile | --machinefile | -machinefile | --host | -host | -H) i=$((i + 1)) ;;
      *) kept+=("${extra[i]}") ;;
    esac
  done
  extra=("${kept[@]}" --hostfile "$file")
  read_hosts
  [ "$np" -le "$total" ] || np=$total
}

# option_value NAME: the value of --NAME VALUE or --NAME=VALUE in the program's arguments ("auto"
# for a --resume without one, as fmnist_dist takes it); has_option NAME: whether it is there.
option_value() {
  local i
  for ((i = 1; i < ${#args[@]}; i++)); do
    case ${args[i]} in
      --$1=*) echo "${args[i]#*=}"; return ;;
      --$1)
        if [[ $((i + 1)) -lt ${#args[@]} && ${args[i + 1]} != -* ]]; then echo "${args[i + 1]}"
        elif [ "$1" = resume ]; then echo auto; fi
        return ;;
    esac
  done
}
has_option() { [[ " ${args[*]:1} " =~ \ --$1[\ =] ]]; }

# checkpoint_stamp: inode and time of OUT_DIR/checkpoint.h5 (replaced by rename: a new inode), or none.
checkpoint_stamp() { stat -c '%i %y' "$out_dir/checkpoint.h5" 2>/dev/null || echo none; }

# lock_run_id: the run id rank 0 recorded in OUT_DIR/fmnist_dist.lock during this job, if any.
lock_run_id() {
  local lock=$out_dir/fmnist_dist.lock id
  [ "$lock" -nt "$tmp/started" ] || return 0
  id=$(sed -n 's/^run_id \([A-Za-z0-9._-]*\)$/\1/p' "$lock" 2>/dev/null)
  echo "$id"
}

# resume_run: the program's arguments for a restart: any --resume [VALUE] and --run-id VALUE
# replaced by --resume auto (or, before the job's first checkpoint, its --resume FILE) and the
# run's --run-id.
resume_run() {
  local i kept=("${args[0]}")
  resume=(--resume auto)
  if [ -n "$resume_file" ] && [ "$resume_file" != auto ] && [ "$(checkpoint_stamp)" = "$stamp_before" ]; then
    resume=(--resume "$resume_file")
  fi
  [ -n "$run_id" ] || run_id=$(lock_run_id)
  for ((i = 1; i < ${#args[@]}; i++)); do
    case ${args[i]} in
      --resume=* | --run-id=*) ;;
      --resume) [[ $((i + 1)) -lt ${#args[@]} && ${args[i + 1]} != -* ]] && i=$((i + 1)) ;;
      --run-id) i=$((i + 1)) ;;
      *) kept+=("${args[i]}") ;;
    esac
  done
  args=("${kept[@]}" "${resume[@]}")
  [ -z "$run_id" ] || args+=(--run-id "$run_id")
}

# run_mpirun: one mpirun in the background, signals forwarded to it; sets code. Its stderr is
# copied to a file: once the watchdog's "...; aborting" is there, mpirun gets abort_grace seconds
# to end before it is ended (then code is 6, the watchdog's verdict).
run_mpirun() {
  local err=$tmp/stderr.$attempt aborted=-1
  : >"$err"
  mpirun -np "$np" "${flags[@]}" "${extra[@]}" "${args[@]}" 2> >(tee -i "$err" >&2) &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$aborted" -lt 0 ] && grep -qE '^fmnist_dist: .*aborting' "$err"; then aborted=$SECONDS; fi
    if [ "$aborted" -ge 0 ] && [ $((SECONDS - aborted)) -ge "$abort_grace" ]; then
      say "mpirun is still running ${abort_grace} s after the watchdog aborted the job; ending it"
      end_mpirun
    fi
    sleep 0.5
  done
  code=0
  wait "$pid" || code=$?
  [ "$aborted" -lt 0 ] || code=6
}

# end_mpirun: SIGTERM to mpirun, SIGKILL 5 s later if it is still there (its daemons on the
# healthy hosts end with it: they lose their connection to it).
end_mpirun() {
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 10); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.5; done
  say "mpirun ignored SIGTERM for 5 s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

stopping=0
trap 'stopping=1; [ -n "${pid:-}" ] && kill -USR1 "$pid" 2>/dev/null' USR1
trap 'stopping=1; [ -n "${pid:-}" ] && kill -TERM "$pid" 2>/dev/null' TERM
trap 'stopping=1; [ -n "${pid:-}" ] && kill -INT "$pid" 2>/dev/null' INT
args=("$@")
out_dir=$(option_value out-dir)
out_dir=${out_dir:-run}
resume_file=$(option_value resume)
run_id=$(option_value run-id)
if [ -z "$run_id" ] && ! has_option resume; then  # a fresh run: its id, for every attempt
  run_id=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
  args+=(--run-id "$run_id")
fi
stamp_before=$(checkpoint_stamp)
touch "$tmp/started"
read_hosts
launch_agent
attempt=0
while :; do
  run_mpirun
  if [ "$code" -eq 0 ] || [ "$stopping" -eq 1 ] || ! lost_rank "$code" || [ "$attempt" -ge "$restarts" ]; then
    exit "$code"
  fi
  attempt=$((attempt + 1))
  say "restart $attempt of $restarts: the job ended with exit $code (a rank or node was lost)"
  drop_lost_hosts || exit "$code"
  [ "$stopping" -eq 0 ] || exit "$code"
  resume_run
  say "restart $attempt of $restarts: $np rank(s) on ${hosts[*]:-this machine} with ${resume[*]}${run_id:+ --run-id $run_id}"
done
