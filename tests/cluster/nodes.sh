# The emulated nodes (docs/contributing.md: Tests): each node is a network namespace with its own UTS namespace
# (host name nodeN) and address 10.77.0.(10+N) on a bridge that has no address, so every packet
# stays between namespaces made here. mpirun runs inside node1 and reaches the others through a
# launch agent that enters their namespaces instead of ssh (or, after ssh_up, through a real
# sshd on each node, for tests where a node must be able not to answer). Names carry the pid of
# the shell that sources this file, so two runs never collide; cluster_up's EXIT trap kills every
# process in the namespaces and removes them. Needs root, WORK (a private folder) and fail(); used by
# tests/cluster/lib.sh and launch/bench.sh.
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

# cluster_down: ends every process in the nodes, then removes the namespaces, links and host
# names. Sockets the killed processes leave behind (still sending to a node that was cut off)
# would keep a namespace, and its link, alive for minutes: they are destroyed first (ss -K).
cluster_down() {
  local n hook
  for hook in "${CLEANUP_HOOKS[@]}"; do eval "$hook" || true; done
  for n in "${NODES[@]}"; do kill_node "$n"; done
  for n in "${NODES[@]}"; do
    for _ in $(seq 50); do [ -z "$(pids_on "$n")" ] && break; sleep 0.1; done
    ip netns exec "$(ns_of "$n")" ss -K -a >/dev/null 2>&1 || true
    ip netns del "$(ns_of "$n")" 2>/dev/null || true
    umount "$UTS/$(name_of "$n")" 2>/dev/null || true
  done
  ip link del "${TAG}br" 2>/dev/null || true
  # The kernel removes a namespace's links shortly after its last reference goes.
  for _ in $(seq 100); do ip -o link | grep -q "${TAG}[vb]" || return 0; sleep 0.1; done
  echo "cluster: links of $TAG still present 10 s after the teardown: $(ip -o link | grep -o "${TAG}[a-z0-9]*" | xargs)" >&2
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

# ssh_up: a real remote shell on every node, for tests whose probe must be able to fail (a
# frozen node must not answer, a killed one must refuse): an OpenSSH sshd inside each node's
# namespaces on its own address, port 22, with a host key and an authorized key made for this
# run; AGENT then becomes an ssh client with that key (no user or system ssh configuration is
# read or written). Skips the test (77) without sshd. Call after cluster_up.
ssh_up() {
  local n
  command -v sshd >/dev/null || { echo "SKIP: sshd is not installed (apt-get install openssh-server)"; exit 77; }
  mkdir -p "$WORK/ssh" /run/sshd
  ssh-keygen -q -t ed25519 -N '' -f "$WORK/ssh/host" </dev/null
  ssh-keygen -q -t ed25519 -N '' -f "$WORK/ssh/id" </dev/null
  cp "$WORK/ssh/id.pub" "$WORK/ssh/authorized_keys"
  for n in "${NODES[@]}"; do start_sshd "$n"; done
  AGENT=$WORK/ssh/agent
  cat >"$AGENT" <<AGENT_EOF
#!/bin/sh
exec ssh -F /dev/null -i $WORK/ssh/id -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=no \\
  -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=5 "\$@"
AGENT_EOF
  chmod +x "$AGENT"
  for n in "${NODES[@]}"; do wait_for_sshd "$n"; done
}

# start_sshd N: node N's sshd (in the background, inside the node); wait_for_sshd N: until node1
# reaches it through AGENT (10 s at most).
start_sshd() {
  on "$1" /usr/sbin/sshd -D -e -f /dev/null -o ListenAddress="$(addr_of "$1")" -o HostKey="$WORK/ssh/host" \
    -o AuthorizedKeysFile="$WORK/ssh/authorized_keys" -o StrictModes=no -o UsePAM=no -o PidFile=none \
    -o PermitRootLogin=prohibit-password -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no \
    >>"$WORK/ssh/sshd.node$1.log" 2>&1 &
}
wait_for_sshd() {
  for _ in $(seq 100); do on 1 "$AGENT" "$(addr_of "$1")" true 2>/dev/null && return 0; sleep 0.1; done
  fail "no ssh to node$1 after 10 s: $(cat "$WORK/ssh/sshd.node$1.log")"
}
