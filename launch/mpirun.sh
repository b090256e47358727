#!/usr/bin/env bash
# mpirun with the settings fmnist_dist is tested with, the one place for them, and its supervisor
# (launch/slurm.sbatch and launch/pbs.sh call this script too). Usage: launch/mpirun.sh NP program [args]
#   - extra mpirun options from FMNIST_MPIRUN_OPTS (a hostfile, a launch agent, transport settings),
#     split on spaces, e.g. FMNIST_MPIRUN_OPTS="--hostfile hosts --mca btl tcp,self"; host names and
#     counts of --hostfile/--host are checked first (exit 2);
#   - the out-of-band TCP keepalive that makes mpirun notice a lost or cut-off node in about
#     10 s instead of Open MPI's default of about 8 minutes (docs/clusters.md: Several machines);
#   - --allow-run-as-root when run as root; on one machine with more ranks than cores (no
#     FMNIST_MPIRUN_OPTS, no batch allocation), --oversubscribe and yield when idle.
# It always watches mpirun (docs/clusters.md: What launch/mpirun.sh watches), through files the ranks
# write into a folder of their own (FMNIST_RANK_STATUS), never through mpirun's output:
#   - the launch: when the ranks have not all started (their first exchange) within
#     FMNIST_LAUNCH_TIMEOUT seconds (default 120, 0: no limit), mpirun is ended: exit 6;
#   - an abort: FMNIST_ABORT_GRACE seconds (default 10) after a rank ended the job (the stall
#     watchdog, an error on one rank), a mpirun still waiting for a frozen node's daemon is ended
#     with that rank's code;
#   - SIGUSR1 or SIGTERM: forwarded to the ranks as SIGUSR1 (they checkpoint and exit 75); during
#     the launch, or between attempts, mpirun is ended and the script exits 75 at once;
#   - FMNIST_RESTARTS=K (default 0): when the job ends because a rank or node was lost (exit 6,
#     205 from Open MPI losing a daemon, 129-191 a rank killed by a signal), the hosts of
#     --hostfile/--host (or of the Slurm allocation) that fail a probe twice are dropped and the job
#     runs again with --resume auto on the ranks left, at most K times. The probe: the launch agent
#     (plm_rsh_agent, srun in Slurm, pbsdsh in PBS, else ssh) runs `true` there, then mpirun starts
#     `true` there (its daemon must call back over MPI's network), each within FMNIST_PROBE_TIMEOUT
#     seconds (default 10).
#     Every attempt continues the same run: a fresh run of fmnist_dist gets its --run-id here, before
#     the first attempt; a --resume run's id is read from OUT_DIR/fmnist_dist.lock, where rank 0 records it. A
#     restart resumes with --resume auto, or with the original --resume FILE again when the job had
#     not yet written a checkpoint (auto would then start afresh). docs/training.md: One run per out-dir.
# The status folder is made in FMNIST_STATUS_DIR (default TMPDIR or /tmp); without a rank on this
# machine the ranks can only reach it when it is on a file system every node shares.
set -euo pipefail
# Stop signals from the very start: recorded here, acted on by the loops below. No command
# substitution ($(...), <(...)) runs in this shell from here on: bash 5.2 may fail to run a trap
# that comes while it expands one (a syntax error, the signal lost); capture (below) uses a file.
stop_signal="" interrupted="" pid=""
trap 'stop_signal=${stop_signal:-USR1}' USR1
trap 'stop_signal=${stop_signal:-TERM}' TERM
trap 'interrupted=1' INT

refuse() {
  echo "launch/mpirun.sh: $*" >&2
  exit 2
}
say() {
  local now
  TZ=UTC0 printf -v now '%(%T)T' -1
  echo "launch/mpirun.sh: $now $*" >&2
}
# The status folder (see the header), made first: capture needs it.
status_base=${FMNIST_STATUS_DIR:-${TMPDIR:-/tmp}}
[[ $status_base == /* ]] || status_base=$PWD/$status_base
tmp=$status_base/fmnist_mpirun.$$.$RANDOM$RANDOM
mkdir -m 700 "$tmp" 2>/dev/null || refuse "cannot make a status folder in $status_base (FMNIST_STATUS_DIR)"
trap 'rm -rf "$tmp"' EXIT
# capture NAME COMMAND...: the lines COMMAND prints, into the array NAME (through a file).
capture() {
  local name=$1
  shift
  "$@" >"$tmp/capture" 2>/dev/null || true
  mapfile -t "$name" <"$tmp/capture"
}

[ "$#" -ge 2 ] || refuse "usage: launch/mpirun.sh NP program [args]"
if ! [[ $1 =~ ^[0-9]+$ ]] || [ "$1" -lt 1 ]; then refuse "NP '$1': a number of ranks (digits, at least 1) expected"; fi
np=$1
shift
flags=()
[ "$EUID" -ne 0 ] || flags+=(--allow-run-as-root)
flags+=(--mca oob_tcp_keepalive_time 5 --mca oob_tcp_keepalive_intvl 2 --mca oob_tcp_keepalive_probes 2)
# When a rank fails, mpirun ends the others with SIGTERM, then waits odls_base_sigkill_timeout (1 s)
# before SIGKILL, and Open MPI 4.1 waits that long even when they are gone: a bad command line took
# 2.8 s instead of 0.8 s. Nothing is lost without it: the ranks leave on their own with the failing
# rank's exit code, a checkpoint is replaced atomically, and stop signals reach the ranks as SIGUSR1.
flags+=(--mca odls_base_sigkill_timeout 0)
read -r -a extra <<<"${FMNIST_MPIRUN_OPTS:-}"
capture cores nproc
if [ "${#extra[@]}" -eq 0 ] && [ -z "${SLURM_JOB_ID:-}${PBS_JOBID:-}" ] && [ "$np" -gt "${cores[0]:-1}" ]; then
  flags+=(--oversubscribe --mca mpi_yield_when_idle 1)
fi
export OMP_NUM_THREADS=1
# setting VAR NAME DEFAULT MIN: VAR = the environment variable NAME (DEFAULT when unset), a whole
# number >= MIN.
setting() {
  local value=${!2:-$3}
  if ! [[ $value =~ ^[0-9]+$ ]] || [ "$value" -lt "$4" ]; then refuse "$2=$value: a whole number of at least $4 expected"; fi
  printf -v "$1" '%s' "$value"
}
restarts="" probe_timeout="" abort_grace="" launch_timeout=""
setting restarts FMNIST_RESTARTS 0 0
setting probe_timeout FMNIST_PROBE_TIMEOUT 10 1
setting abort_grace FMNIST_ABORT_GRACE 10 1
setting launch_timeout FMNIST_LAUNCH_TIMEOUT 120 0

# lost_rank CODE: true when mpirun's exit code says a rank or a node was lost.
lost_rank() { [ "$1" -eq 6 ] || [ "$1" -eq 205 ] || { [ "$1" -gt 128 ] && [ "$1" -lt 192 ]; }; }

# add_host WHERE NAME COUNT: one more entry of hosts/slots (slots summed over repeated names),
# after checking NAME (letters, digits, '.', '_', '-'; not starting with '-' or '.') and COUNT
# (digits): nothing else reaches a shell, a glob or an agent's command line.
add_host() {
  local i
  [[ $2 =~ ^[A-Za-z0-9_][A-Za-z0-9._-]*$ ]] ||
    refuse "$1: host name '$2': only letters, digits, '.', '_' and '-' are allowed"
  [[ $3 =~ ^[0-9]+$ ]] || refuse "$1: host $2: slot count '$3': digits expected"
  for i in "${!hosts[@]}"; do
    [ "${hosts[i]}" = "$2" ] && { slots[i]=$((slots[i] + $3)); return; }
  done
  hosts+=("$2")
  slots+=("$3")
}

# read_hostfile FILE: its hosts (a line: NAME [slots=N] [other key=value]; '#' starts a comment).
read_hostfile() {
  local line name count key word words
  if ! [ -f "$1" ] || ! [ -r "$1" ]; then refuse "--hostfile '$1': no such readable file"; fi
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line%%#*}
    read -r name _ <<<"$line" || true
    [ -n "$name" ] || continue
    count=1
    read -r -a words <<<"${line#*"$name"}"
    for word in "${words[@]}"; do
      key=${word%%=*}
      case $key in
        slots | max_slots | max-slots)
          [[ ${word#*=} =~ ^[0-9]+$ ]] || refuse "--hostfile $1: host $name: $key '${word#*=}': digits expected"
          [ "$key" != slots ] || count=${word#*=} ;;
      esac
    done
    add_host "--hostfile $1" "$name" "$count"
  done <"$1"
}

# read_hosts: fills hosts/slots (one entry per host) from --hostfile/--machinefile FILE and
# --host/-H LIST (NAME[:COUNT],...; COUNT 1 when absent) in extra, checking every name and count.
read_hosts() {
  local i list entry entries
  hosts=() slots=()
  for ((i = 0; i < ${#extra[@]}; i++)); do
    case ${extra[i]} in
      --hostfile | -hostfile | --machinefile | -machinefile | --host | -host | -H)
        [ $((i + 1)) -lt ${#extra[@]} ] || refuse "${extra[i]} without a value in FMNIST_MPIRUN_OPTS" ;;
    esac
    case ${extra[i]} in
      --hostfile | -hostfile | --machinefile | -machinefile) read_hostfile "${extra[i + 1]}" ;;
      --host | -host | -H)
        list=${extra[i + 1]}
        IFS=, read -r -a entries <<<"$list"
        [ "${#entries[@]}" -gt 0 ] || refuse "${extra[i]} '$list': no host"
        for entry in "${entries[@]}"; do
          if [[ $entry == *:* ]]; then
            add_host "${extra[i]} $list" "${entry%%:*}" "${entry#*:}"
          else
            add_host "${extra[i]} $list" "$entry" 1
          fi
        done ;;
    esac
  done
}

# slurm_hosts: the nodes of this Slurm allocation with their tasks (SLURM_TASKS_PER_NODE: "2(x3),1").
slurm_hosts() {
  local names counts=() parts part i
  capture names scontrol show hostnames "$SLURM_JOB_NODELIST"
  IFS=, read -r -a parts <<<"${SLURM_TASKS_PER_NODE:-}"
  for part in "${parts[@]}"; do
    if [[ $part =~ ^([0-9]+)\(x([0-9]+)\)$ ]]; then
      for ((i = 0; i < BASH_REMATCH[2]; i++)); do counts+=("${BASH_REMATCH[1]}"); done
    elif [[ $part =~ ^[0-9]+$ ]]; then
      counts+=("$part")
    else
      refuse "SLURM_TASKS_PER_NODE=$SLURM_TASKS_PER_NODE: '$part' is not a count"
    fi
  done
  for i in "${!names[@]}"; do add_host "the Slurm allocation" "${names[i]}" "${counts[i]:-1}"; done
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
  case " ${here[*]} " in
    *" $1 "*) return 0 ;;
  esac
  return 1
}

# local_names: fills here with the names and addresses of this machine.
local_names() {
  local option
  local -a more
  here=(localhost 127.0.0.1)
  for option in "" -s -f -I; do
    # shellcheck disable=SC2086  # no option at all for the plain name
    capture more hostname $option
    read -r -a more <<<"${more[*]:-}"
    here+=("${more[@]}")
  done
}

# ranks_here: true when a rank will run on this machine, so that the status folder is in its reach:
# no host list (this machine, or a batch allocation whose first node runs this script), or a host
# of this machine among those that np ranks fill slot by slot (mpirun's default mapping).
ranks_here() {
  local i filled=0
  [ "${#hosts[@]}" -gt 0 ] || return 0
  for i in "${!hosts[@]}"; do
    is_local "${hosts[i]}" && return 0
    filled=$((filled + slots[i]))
    [ "$filled" -lt "$np" ] || return 1
  done
  return 1
}

# probe_options: the options of extra that reach a host and its daemon (--mca/--gmca KEY VALUE,
# -x VAR, --prefix DIR), for the probe's mpirun; mapping, binding and output options stay out.
probe_options() {
  local i
  probe_opts=()
  for ((i = 0; i < ${#extra[@]}; i++)); do
    case ${extra[i]} in
      --mca | -mca | --gmca | -gmca) probe_opts+=("${extra[@]:i:3}"); i=$((i + 2)) ;;
      -x | --prefix | -prefix) probe_opts+=("${extra[@]:i:2}"); i=$((i + 1)) ;;
    esac
  done
}

# without_hosts: extra without its host options (for the restarts' hostfile).
without_hosts() {
  local i
  kept=()
  for ((i = 0; i < ${#extra[@]}; i++)); do
    case ${extra[i]} in
      --hostfile | -hostfile | --machinefile | -machinefile | --host | -host | -H) i=$((i + 1)) ;;
      *) kept+=("${extra[i]}") ;;
    esac
  done
}

# probe_once HOST LOG: prints why HOST cannot run ranks, nothing when it can: the launch agent runs
# `true` there, then mpirun starts `true` there (its daemon calls back over MPI's network), each
# within probe_timeout. Subshells with stderr closed: no "Killed" from bash when timeout must SIGKILL.
probe_once() {
  local code=0
  (timeout -k 2 "$probe_timeout" "${agent_words[@]}" "$1" true </dev/null >"$2" 2>&1 || exit $?) 2>/dev/null || code=$?
  case $code in
    0) ;;
    124 | 137) echo "no answer within ${probe_timeout} s"; return ;;
    *) echo "the agent failed with exit $code: $(tr '\n' ' ' <"$2" | cut -c1-160)"; return ;;
  esac
  (timeout -k 2 "$probe_timeout" mpirun -np 1 "${flags[@]}" "${probe_opts[@]}" --host "$1" true </dev/null >"$2" 2>&1 ||
    exit $?) 2>/dev/null || code=$?
  case $code in
    0) ;;
    124 | 137) echo "its launch agent answers, but its Open MPI daemon did not call back within ${probe_timeout} s" \
      "(MPI's network to it cut off?)" ;;
    *) echo "mpirun could not start a process there (exit $code): $(tr '\n' ' ' <"$2" | cut -c1-160)" ;;
  esac
}

# probe_host I (in a background subshell, which may use command substitutions: signals go to this
# script's own process): probes host I, and once more a second later if it failed; writes the verdict
# (empty: it answered) to $tmp/why.I and a first failure that the second probe cleared to $tmp/retried.I.
probe_host() {
  local why
  why=$(probe_once "${hosts[$1]}" "$tmp/probe.$1")
  if [ -n "$why" ]; then
    sleep 1
    echo "$why" >"$tmp/retried.$1"
    why=$(probe_once "${hosts[$1]}" "$tmp/probe.$1")
  fi
  echo "$why" >"$tmp/why.$1"
}

# probe_hosts: probes every remote host at once; fills why[i] (empty when host i answered). A stop
# signal ends the probes and returns false.
probe_hosts() {
  local i pids=()
  probe_options
  rm -f "$tmp"/why.* "$tmp"/retried.*
  for i in "${!hosts[@]}"; do
    if is_local "${hosts[i]}"; then pids+=(""); continue; fi
    probe_host "$i" &
    pids+=("$!")
  done
  why=()
  for i in "${!hosts[@]}"; do
    why[i]=""
    [ -n "${pids[i]}" ] || continue
    while kill -0 "${pids[i]}" 2>/dev/null; do
      if [ -n "$stop_signal$interrupted" ]; then end_probes "${pids[@]}"; return 1; fi
      sleep 0.2
    done
    wait "${pids[i]}" || true
    why[i]="no verdict from the probe"
    [ ! -f "$tmp/why.$i" ] || read -r "why[i]" <"$tmp/why.$i" || true
    if [ -z "${why[i]}" ] && [ -f "$tmp/retried.$i" ]; then
      read -r first <"$tmp/retried.$i" || true
      say "host ${hosts[i]} failed a probe (${first:-}), then answered the second: kept"
    fi
  done
}

# descendants PID: the processes PID started, and theirs (one look at the process table).
descendants() {
  ps -e -o pid=,ppid= | awk -v root="$1" '{ kids[$2] = kids[$2] " " $1 }
    END { todo = root; while (todo != "") { n = split(todo, q, " "); todo = ""
      for (i = 1; i <= n; i++) { m = split(kids[q[i]], k, " "); for (j = 1; j <= m; j++) { print k[j]; todo = todo " " k[j] } } } }'
}

# end_probes PID...: ends the probes and what they run (timeout ends its agent or mpirun too).
end_probes() {
  local p tree
  for p in "$@"; do
    [ -n "$p" ] || continue
    capture tree descendants "$p"
    kill -TERM "${tree[@]}" "$p" 2>/dev/null || true
  done
}

# drop_lost_hosts: probes the hosts, writes the ones that answered to a new hostfile that
# replaces every host option in extra, and shrinks np to their slots. False when none is left
# or a stop signal came.
drop_lost_hosts() {
  local i total=0 file=$tmp/hostfile.$attempt
  [ "${#hosts[@]}" -gt 0 ] || { say "no host list: restarting on this machine"; return 0; }
  probe_hosts || return 1
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
  without_hosts
  extra=("${kept[@]}" --hostfile "$file")
  read_hosts
  [ "$np" -le "$total" ] || np=$total
}

# option_value NAME VAR: VAR = the value of --NAME VALUE or --NAME=VALUE in the program's arguments
# ("auto" for a --resume without one, as fmnist_dist takes it; "" when absent); has_option NAME:
# whether it is there.
option_value() {
  local i
  printf -v "$2" '%s' ""
  for ((i = 1; i < ${#args[@]}; i++)); do
    case ${args[i]} in
      --$1=*) printf -v "$2" '%s' "${args[i]#*=}"; return ;;
      --$1)
        if [[ $((i + 1)) -lt ${#args[@]} && ${args[i + 1]} != -* ]]; then printf -v "$2" '%s' "${args[i + 1]}"
        elif [ "$1" = resume ]; then printf -v "$2" '%s' auto; fi
        return ;;
    esac
  done
}
has_option() { [[ " ${args[*]:1} " =~ \ --$1[\ =] ]]; }

# checkpoint_stamp VAR: VAR = inode and time of OUT_DIR/checkpoint.h5 (replaced by rename: a new
# inode), or none.
checkpoint_stamp() {
  local stat_lines
  capture stat_lines stat -c '%i %y' "$out_dir/checkpoint.h5"
  printf -v "$1" '%s' "${stat_lines[0]:-none}"
}

# lock_run_id: run_id = the run id rank 0 recorded in OUT_DIR/fmnist_dist.lock during this job, if any.
lock_run_id() {
  local lock=$out_dir/fmnist_dist.lock id
  [ "$lock" -nt "$tmp/started" ] || return 0
  capture id sed -n 's/^run_id \([A-Za-z0-9._-]*\)$/\1/p' "$lock"
  run_id=${id[0]:-}
}

# resume_run: the program's arguments for a restart: any --resume [VALUE] and --run-id VALUE
# replaced by --resume auto (or, before the job's first checkpoint, its --resume FILE) and the
# run's --run-id.
resume_run() {
  local i kept=("${args[0]}") stamp
  resume=(--resume auto)
  checkpoint_stamp stamp
  if [ -n "$resume_file" ] && [ "$resume_file" != auto ] && [ "$stamp" = "$stamp_before" ]; then
    resume=(--resume "$resume_file")
  fi
  [ -n "$run_id" ] || lock_run_id
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

# run_attempt: one mpirun in the background, watched until it ends; sets code (see the header:
# the launch deadline, the abort grace, stop signals).
run_attempt() {
  local dir=$tmp/attempt.$attempt begin=$SECONDS started="" verdict="" verdict_rank="?" verdict_at=-1 forwarded=""
  mkdir -p "$dir"
  FMNIST_RANK_STATUS=$dir mpirun -np "$np" "${flags[@]}" -x FMNIST_RANK_STATUS "${extra[@]}" "${args[@]}" <&3 3<&- &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    [ -n "$started" ] || [ ! -e "$dir/started" ] || started=1
    if [ -n "$interrupted" ] && [ "$forwarded" != INT ]; then kill -INT "$pid" 2>/dev/null || true; forwarded=INT; fi
    if [ -n "$stop_signal" ] && [ -z "$forwarded" ]; then
      if [ -z "$started" ] && [ -n "$watch" ]; then
        say "SIG$stop_signal during the launch, before the ranks' first exchange: ending mpirun; exit 75"
        end_mpirun
        code=75
        return
      fi
      kill -USR1 "$pid" 2>/dev/null || true
      forwarded=USR1
    fi
    if [ -z "$started" ] && [ -n "$watch" ] && [ "$launch_timeout" -gt 0 ] &&
      [ $((SECONDS - begin)) -ge "$launch_timeout" ]; then
      say "the ranks have not all started within FMNIST_LAUNCH_TIMEOUT=$launch_timeout s (a host whose Open MPI" \
        "daemon cannot call back?): ending mpirun"
      end_mpirun
      code=6
      return
    fi
    if [ "$verdict_at" -lt 0 ] && [ -s "$dir/verdict" ]; then
      read -r verdict verdict_rank _ <"$dir/verdict" || true
      [[ $verdict =~ ^[0-9]+$ ]] || verdict=6
      verdict_at=$SECONDS
    fi
    if [ "$verdict_at" -ge 0 ] && [ $((SECONDS - verdict_at)) -ge "$abort_grace" ]; then
      say "mpirun is still running ${abort_grace} s after rank $verdict_rank ended the job" \
        "with exit $verdict (a node that does not answer?): ending it"
      end_mpirun
      code=$verdict
      return
    fi
    sleep 0.1
  done
  code=0
  wait "$pid" || code=$?
}

# end_mpirun: SIGTERM to mpirun, SIGKILL 5 s later should it still be there; then SIGKILL to what
# it had started on this machine and is left (the launch agents, and a daemon that never called
# back). Its daemons on healthy hosts end with it.
end_mpirun() {
  local left k
  capture left descendants "$pid"
  # Until it is reaped, this shell's stderr is closed: no line from bash on how mpirun ended (SIGKILL,
  # or a segmentation fault: Open MPI 4.1's mpirun may crash on SIGTERM while a daemon is frozen).
  exec 4>&2 2>/dev/null
  kill -TERM "$pid" || true
  for ((k = 0; k < 25; k++)); do kill -0 "$pid" || break; sleep 0.2; done
  if kill -0 "$pid"; then
    say "mpirun ignored SIGTERM for 5 s; sending SIGKILL to it and its launch agents" 2>&4
    kill -KILL "$pid" || true
  fi
  wait "$pid" || true
  exec 2>&4 4>&-
  [ "${#left[@]}" -eq 0 ] || kill -KILL "${left[@]}" 2>/dev/null || true
}

# stopped CODE: exits with the code of a job a stop signal came to: 75 (resume later) unless it
# ended for good by itself (0, or 1-5: done, or a failure that a resume would meet again).
stopped() {
  if [ "$1" -eq 75 ] || lost_rank "$1"; then exit 75; fi
  exit "$1"
}

args=("$@")
option_value out-dir out_dir
out_dir=${out_dir:-run}
option_value resume resume_file
option_value run-id run_id
# A fresh run of fmnist_dist that may be restarted: its id, for every attempt.
if [ "$restarts" -gt 0 ] && [[ ${args[0]##*/} == fmnist_dist* ]] && [ -z "$run_id" ] && ! has_option resume; then
  capture random_bytes od -An -tx1 -N16 /dev/urandom
  run_id=${random_bytes[*]}
  run_id=${run_id// /}
  args+=(--run-id "$run_id")
fi
checkpoint_stamp stamp_before
touch "$tmp/started"
read_hosts
launch_agent
[ "$restarts" -eq 0 ] || [ "${#hosts[@]}" -gt 0 ] || [ -z "${SLURM_JOB_NODELIST:-}" ] || slurm_hosts
local_names
# mpirun's standard input is this script's (a background job's would be /dev/null), or /dev/null if closed.
{ exec 3<&0; } 2>/dev/null || exec 3</dev/null
watch=1
if [ -z "${FMNIST_STATUS_DIR:-}" ] && ! ranks_here; then
  watch=""
  say "note: no rank runs on this machine: the launch deadline and stop signals during the launch need" \
    "FMNIST_STATUS_DIR, a folder every node shares (docs/clusters.md: What launch/mpirun.sh watches)"
fi
attempt=0
while :; do
  if [ -n "$stop_signal" ]; then say "SIG$stop_signal before the attempt: no new attempt; exit 75"; exit 75; fi
  run_attempt
  [ -z "$interrupted" ] || exit "$code"
  [ -z "$stop_signal" ] || stopped "$code"
  if [ "$code" -eq 0 ] || ! lost_rank "$code" || [ "$attempt" -ge "$restarts" ]; then
    exit "$code"
  fi
  attempt=$((attempt + 1))
  say "restart $attempt of $restarts: the job ended with exit $code (a rank or node was lost)"
  if ! drop_lost_hosts; then
    [ -z "$interrupted" ] || exit 130
    if [ -n "$stop_signal" ]; then say "SIG$stop_signal while probing the hosts: no new attempt; exit 75"; exit 75; fi
    exit "$code"
  fi
  resume_run
  say "restart $attempt of $restarts: $np rank(s) on ${hosts[*]:-this machine} with ${resume[*]}${run_id:+ --run-id $run_id}"
done
