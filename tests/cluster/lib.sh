# Helpers of the tests of tests/cluster/ (docs/contributing.md: Tests), on the emulated nodes of nodes.sh:
# fmnist_dist through launch/mpirun.sh inside node1, the job's processes on each node, and the
# stall cases. Sourced after tests/mpi/lib.sh. Exits 77 (skip) where namespaces cannot be made.
export PATH=$PATH:/usr/sbin:/sbin
for tool in ip nsenter unshare mount umount; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (iproute2, util-linux)"; exit 77; }
done
[ "$(id -u)" -eq 0 ] || { echo "SKIP: network namespaces need root"; exit 77; }
source "$(dirname "${BASH_SOURCE[0]}")/nodes.sh"

# cluster_mpi NP ARGS...: fmnist_dist through launch/mpirun.sh inside node1, with a hard time limit;
# EXTRA_OPTS are more mpirun options.
cluster_mpi() {
  local np=$1
  shift
  FMNIST_MPIRUN_OPTS="$(cluster_opts) ${EXTRA_OPTS:-}" on 1 timeout -k 5 "${LIMIT:-120}" "$SRC/launch/mpirun.sh" \
    "$np" "$DIST" "$@"
}

# launcher_pid MARKER: the pid of launch/mpirun.sh running the job with MARKER (inside node1).
launcher_pid() {
  local p
  for p in $(job_pids_on 1 "$1"); do
    tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -q "^bash $SRC/launch/mpirun.sh " && { echo "$p"; return; }
  done
  fail "no launch/mpirun.sh of the job '$1' on node1"
}

# wait_for_text SECONDS LOG REGEX: waits (polling) until LOG matches the extended REGEX.
wait_for_text() {
  for _ in $(seq $(($1 * 10))); do grep -Eq -- "$3" "$2" && return 0; sleep 0.1; done
  cat "$2" >&2
  fail "no /$3/ in $2 after $1 s"
}

# job_pids_on N MARKER: processes of node N whose command line contains MARKER.
job_pids_on() {
  local p
  for p in $(pids_on "$1"); do
    tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -qF -- "$2" && echo "$p"
  done
  return 0
}

# rank_pid_on N MARKER: the pid of the fmnist_dist rank on node N of the job with MARKER.
rank_pid_on() {
  local p
  for p in $(job_pids_on "$1" "$2"); do
    [ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "$(readlink -f "$DIST")" ] && { echo "$p"; return; }
  done
  fail "no rank of the job '$2' on node$1"
}

# no_process_left: no process at all in any node namespace (checked after the job ended).
no_process_left() {
  local n left=""
  for n in "${NODES[@]}"; do
    [ -z "$(pids_on "$n")" ] || left+=" node$n: $(pids_on "$n" | tr '\n' ' ' | xargs -r ps -o pid=,args= -p | tr '\n' ';')"
  done
  [ -z "$left" ] || fail "processes left:$left"
}

# wait_until_no_process SECONDS: polls until no node runs a process of the test, then returns;
# after SECONDS, no_process_left names what is left.
wait_until_no_process() {
  local n busy
  for _ in $(seq $(($1 * 10))); do
    busy=""
    for n in "${NODES[@]}"; do [ -z "$(pids_on "$n")" ] || busy=1; done
    [ -n "$busy" ] || return 0
    sleep 0.1
  done
  no_process_left
}

# checkpoint_field FILE NAME: an attribute of /training in a checkpoint (h5py).
checkpoint_field() {
  /usr/bin/python3 -c "import h5py, sys; print(int(h5py.File(sys.argv[1], 'r')['training'].attrs[sys.argv[2]]))" "$1" "$2"
}

# wait_for_checkpoint FILE: waits (up to 60 s) until FILE exists.
wait_for_checkpoint() {
  for _ in $(seq 600); do [ -f "$1" ] && return 0; sleep 0.1; done
  fail "no $1 after 60 s"
}

STALL=${STALL:-5}  # --stall-timeout of the fault cases, seconds

# stall_case NAME CODE REGEX FAULT [AFTER]: on the 3 nodes (cluster_up 3), a job with one rank per
# node (--stall-timeout $STALL; EXTRA_OPTS for mpirun) is trained until it has written a checkpoint;
# then `FAULT` runs (a shell command; $MARK is the job's out-dir, unique to it). The job must end
# within $STALL + ${SLACK:-15} s with exit CODE (or any non-zero code for CODE "nonzero"), its output
# must match REGEX; then `AFTER` runs; no process may be left in any node 30 s later (polled),
# checkpoint.h5 must verify, and --resume auto on nodes 1 and 2 must finish the run.
stall_case() {
  local name=$1 code=$2 regex=$3 fault=$4 after=${5:-}
  local out=$WORK/$name/out log=$WORK/$name.log pid got=0 start took epoch
  local args=("${SMALL[@]}" --batch-size 16 --micro-batch 4 --seed 3 --checkpoint-every 5 --stall-timeout "$STALL"
              --out-dir "$out")
  hostfile_of 1 2 3
  cluster_mpi 3 "${args[@]}" --epochs 100000 >"$log" 2>&1 &
  pid=$!
  wait_for_checkpoint "$out/checkpoint.h5"
  sleep 1
  MARK=$out
  eval "$fault"
  start=$(now)
  wait "$pid" || got=$?
  took=$(elapsed_ms "$start")
  echo "  $name: exit $got after $took ms: $(grep -m1 -E -- "$regex" "$log" | cut -c1-200)"
  [ -z "${SHOW_LOG:-}" ] || cat "$log"
  [ "$got" -ne 0 ] || { cat "$log" >&2; fail "the job exited 0 after the fault"; }
  if [ "$code" != nonzero ] && [ "$got" -ne "$code" ]; then cat "$log" >&2; fail "exit code $got, expected $code"; fi
  [ "$took" -lt $(((STALL + ${SLACK:-15}) * 1000)) ] || { cat "$log" >&2; fail "the job took $took ms to end"; }
  expect_text "$log" "$regex"
  eval "$after"
  wait_until_no_process 30
  verified "$out/checkpoint.h5"
  # The healthy nodes finish the run: one epoch beyond the checkpoint's.
  epoch=$(checkpoint_field "$out/checkpoint.h5" epoch)
  hostfile_of 1 2
  expect_exit 0 "$WORK/$name.resume.log" cluster_mpi 2 "${args[@]}" --epochs $((epoch + 1)) --resume auto
  expect_text "$WORK/$name.resume.log" "Resumed at epoch"
  expect_text "$WORK/$name.resume.log" "test_loss: [0-9.]+ - test_accuracy: [0-9.]+"
  verified "$out/checkpoint.h5"
}

# restart_case NAME FAULT: on the 3 nodes (cluster_up 3; ssh_up: ssh as the launch agent), a job
# with one rank per node and FMNIST_RESTARTS=2 is trained until it has written a checkpoint (the probe's
# 8 s leave a healthy node's mpirun over ssh room on a loaded machine); then `FAULT` runs
# on node3 ($MARK is the job's out-dir). launch/mpirun.sh must drop node3 (and only it), restart
# on nodes 1 and 2 with --resume auto, and end with exit 0 and the weights of an uninterrupted
# one-process run, bit for bit; nodes 1 and 2 must keep no process but their sshd. Prints the
# time from the fault to the restart.
restart_case() {
  local name=$1 fault=$2 steps=300
  local out=$WORK/$name/out log=$WORK/$name.log pid got=0 start took
  local args=("${SMALL[@]}" --batch-size 16 --micro-batch 4 --seed 3 --checkpoint-every 5 --stall-timeout "$STALL"
              --epochs 100 --max-steps "$steps" --out-dir "$out")
  FMNIST_RESTARTS=2 FMNIST_PROBE_TIMEOUT=8 cluster_mpi 3 "${args[@]}" >"$log" 2>&1 &
  pid=$!
  wait_for_checkpoint "$out/checkpoint.h5"
  MARK=$out
  eval "$fault"
  start=$(now)
  for _ in $(seq 900); do grep -q "restart 1 of 2: [0-9]* rank" "$log" && break; sleep 0.1; done
  took=$(elapsed_ms "$start")
  wait "$pid" || got=$?
  echo "  $name: restart $took ms after the fault; $(grep -m1 "dropping host" "$log" | cut -c1-160)"
  [ -z "${SHOW_LOG:-}" ] || cat "$log"
  [ "$got" -eq 0 ] || { cat "$log" >&2; fail "the job exited $got"; }
  expect_text "$log" "restart 1 of 2: 2 rank\(s\) on $NET.11 $NET.12 with --resume auto"
  [ "$(grep -c "dropping host" "$log")" -eq 1 ] || { cat "$log" >&2; fail "not exactly one host dropped"; }
  expect_text "$log" "dropping host $NET.13 "
  expect_text "$log" "Resumed at epoch"
  expect_text "$log" "Reached --max-steps $steps"
  expect_exit 0 "$WORK/$name.reference.log" mpi 1 "${args[@]}" --out-dir "$WORK/$name/reference"
  same_weights "$WORK/$name/reference/checkpoint.h5" "$out/checkpoint.h5" 0
  only_sshd_left 1 2
}

# only_sshd_left N...: nodes N... run no process but their sshd (the job ended), within WITHIN
# seconds (default 10).
only_sshd_left() {
  local n left=""
  for n in "$@"; do
    for _ in $(seq $((${WITHIN:-10} * 10))); do [ -z "$(non_sshd_on "$n")" ] && continue 2; sleep 0.1; done
    left+=" node$n: $(non_sshd_on "$n" | xargs -r ps -o pid=,args= -p | tr '\n' ';')"
  done
  [ -z "$left" ] || fail "processes left ${WITHIN:-10} s after the job ended:$left"
}

non_sshd_on() {
  local p
  for p in $(pids_on "$1"); do [ "$(cat "/proc/$p/comm" 2>/dev/null)" = sshd ] || echo "$p"; done
}
