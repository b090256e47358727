# An emulated multi-node cluster for the tests of tests/cluster/ (README: Tests). Each node is a
# network namespace with its own UTS namespace (host name nodeN) and address 10.77.0.(10+N) on a
# bridge that has no address, so every packet stays between namespaces this test made. mpirun
# runs inside node1 and starts the other nodes' daemons through a launch agent that enters their
# namespaces instead of ssh; ranks talk over TCP. Names carry this shell's pid, so two runs never
# collide; the EXIT trap kills every process in the namespaces and removes them.
# Sourced after tests/mpi/lib.sh. Exits 77 (skip) where namespaces cannot be made.
export PATH=$PATH:/usr/sbin:/sbin
for tool in ip nsenter unshare mount umount; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (iproute2, util-linux)"; exit 77; }
done
[ "$(id -u)" -eq 0 ] || { echo "SKIP: network namespaces need root"; exit 77; }

TAG=fm$$                 # prefix of every namespace and link of this run
NET=10.77.0              # the private /24 inside this run's namespaces
NODES=()                 # node numbers made by cluster_up
HEAD=0                   # 1 when cluster_up made the head node (number 0, 10.77.0.10)
UTS=$WORK/uts
HOSTFILE=$WORK/hostfile
AGENT=$WORK/agent
CLEANUP_HOOKS=()         # commands run by cluster_down before the namespaces go

ns_of() { echo "${TAG}n$1"; }
addr_of() { echo "$NET.$((10 + $1))"; }
name_of() { if [ "$1" -eq 0 ]; then echo head; else echo "node$1"; fi; }

# on N COMMAND...: runs COMMAND inside node N (its network and its host name).
on() {
  local n=$1
  shift
  nsenter --net="/run/netns/$(ns_of "$n")" --uts="$UTS/$(name_of "$n")" -- "$@"
}

# pids_on N: the processes inside node N's network namespace.
pids_on() { ip netns pids "$(ns_of "$1")" 2>/dev/null || true; }

# kill_node N: SIGKILL to every process of node N.
kill_node() {
  local p
  for p in $(pids_on "$1"); do kill -KILL "$p" 2>/dev/null || true; done
}

cluster_down() {
  local n hook
  for hook in "${CLEANUP_HOOKS[@]}"; do eval "$hook" || true; done
  for n in "${NODES[@]}"; do kill_node "$n"; done
  for n in "${NODES[@]}"; do
    for _ in $(seq 50); do [ -z "$(pids_on "$n")" ] && break; sleep 0.1; done
    ip netns del "$(ns_of "$n")" 2>/dev/null || true
    umount "$UTS/$(name_of "$n")" 2>/dev/null || true
  done
  ip link del "${TAG}br" 2>/dev/null || true
}

# add_node N: namespace, host name, veth to the bridge, address.
add_node() {
  local n=$1 ns name
  ns=$(ns_of "$n")
  name=$(name_of "$n")
  ip netns add "$ns" || return 1
  NODES+=("$n")
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip link add "${TAG}v$n" type veth peer name eth0 netns "$ns" || return 1
  ip link set "${TAG}v$n" addrgenmode none
  ip link set "${TAG}v$n" master "${TAG}br" up || return 1
  ip -n "$ns" addr add "$(addr_of "$n")/24" dev eth0 || return 1
  ip -n "$ns" link set eth0 up || return 1
  ip -n "$ns" link set lo up || return 1
  touch "$UTS/$name"
  unshare --uts="$UTS/$name" hostname "$name" || return 1
  echo "$(addr_of "$n") slots=1" >>"$HOSTFILE.all"
  printf '  %s|%s) n=%s ;;\n' "$(addr_of "$n")" "$name" "$n" >>"$WORK/agent.cases"
}

# cluster_up K [head]: nodes 1..K (and the head node 0 with "head"), the agent and the hostfile
# of every node; skips the test (77) when the first namespace cannot be made.
cluster_up() {
  local k=$1 n
  mkdir -p "$UTS"
  : >"$HOSTFILE.all"
  : >"$WORK/agent.cases"
  trap 'code=$?; cluster_down; rm -rf "$WORK"; exit $code' EXIT
  trap 'exit 1' INT TERM
  if ! ip link add "${TAG}br" type bridge 2>"$WORK/ns.err"; then
    echo "SKIP: cannot make a bridge here: $(cat "$WORK/ns.err")"
    exit 77
  fi
  ip link set "${TAG}br" addrgenmode none
  ip link set "${TAG}br" up
  if ! add_node 1 2>"$WORK/ns.err"; then
    echo "SKIP: cannot make network and UTS namespaces here: $(cat "$WORK/ns.err")"
    exit 77
  fi
  for n in $(seq 2 "$k"); do add_node "$n" || fail "cannot make node $n"; done
  if [ "${2:-}" = head ]; then add_node 0 || fail "cannot make the head node"; HEAD=1; fi
  hostfile_of $(seq 1 "$k")
  # The launch agent Open MPI runs instead of ssh: AGENT [user@]HOST COMMAND...
  cat >"$AGENT" <<EOF
#!/bin/sh
host=\${1#*@}
shift
case \$host in
$(cat "$WORK/agent.cases")
  *) echo "agent: unknown node \$host" >&2; exit 255 ;;
esac
case \$n in 0) name=head ;; *) name=node\$n ;; esac
exec nsenter --net=/run/netns/$TAG"n\$n" --uts=$UTS/"\$name" sh -c "\$*"
EOF
  chmod +x "$AGENT"
}

# hostfile_of N...: the hostfile (one slot per node) for these nodes.
hostfile_of() {
  local n
  : >"$HOSTFILE"
  for n in "$@"; do echo "$(addr_of "$n") slots=1" >>"$HOSTFILE"; done
}

# The mpirun options of this cluster, as users pass them to launch/mpirun.sh: the nodes, the
# agent, TCP on the private network only, no core binding (nodes share this machine's cores),
# yield when idle (more ranks than cores).
cluster_opts() {
  echo "--hostfile $HOSTFILE --mca plm_rsh_agent $AGENT --mca plm_rsh_no_tree_spawn 1" \
    "--mca btl tcp,self --mca btl_tcp_if_include $NET.0/24 --mca oob_tcp_if_include $NET.0/24" \
    "--bind-to none --mca mpi_yield_when_idle 1"
}

# cluster_mpi NP ARGS...: fmnist_dist through launch/mpirun.sh inside node1, with a hard time limit.
cluster_mpi() {
  local np=$1
  shift
  FMNIST_MPIRUN_OPTS="$(cluster_opts)" on 1 timeout -k 5 "${LIMIT:-120}" "$SRC/launch/mpirun.sh" "$np" "$DIST" "$@"
}

# job_pids_on N MARKER: processes of node N whose command line contains MARKER.
job_pids_on() {
  local p
  for p in $(pids_on "$1"); do
    tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -- "$2" && echo "$p"
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

# stall_case NAME CODE REGEX FAULT: a 3-node job (one rank per node, --stall-timeout $STALL) is
# trained until it has written a checkpoint; then `FAULT` runs (a shell command; $MARK is the
# job's out-dir, unique to it). The job must end within $STALL + 15 s with exit CODE (or any
# non-zero code for CODE "nonzero"), its output must match REGEX, no process may be left in any
# node 10 s later, checkpoint.h5 must verify, and --resume auto on nodes 1 and 2 must finish the run.
stall_case() {
  local name=$1 code=$2 regex=$3 fault=$4
  local out=$WORK/$name/out log=$WORK/$name.log pid got=0 start took epoch
  local args=("${SMALL[@]}" --batch-size 16 --micro-batch 4 --seed 3 --checkpoint-every 5 --stall-timeout "$STALL"
              --out-dir "$out")
  cluster_up 3
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
  [ "$took" -lt $(((STALL + 15) * 1000)) ] || { cat "$log" >&2; fail "the job took $took ms to end"; }
  expect_text "$log" "$regex"
  sleep 10
  no_process_left
  verified "$out/checkpoint.h5"
  # The healthy nodes finish the run: one epoch beyond the checkpoint's.
  epoch=$(checkpoint_field "$out/checkpoint.h5" epoch)
  hostfile_of 1 2
  expect_exit 0 "$WORK/$name.resume.log" cluster_mpi 2 "${args[@]}" --epochs $((epoch + 1)) --resume auto
  expect_text "$WORK/$name.resume.log" "Resumed at epoch"
  expect_text "$WORK/$name.resume.log" "test_loss: [0-9.]+ - test_accuracy: [0-9.]+"
  verified "$out/checkpoint.h5"
  echo "1 passed, 0 failed"
}
