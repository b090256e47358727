# node3's network link cut (ip link set ... down) on 3 emulated nodes whose launch agent enters a
# node's namespaces directly (tests/cluster/lib.sh): the agent still reaches node3, as ssh or srun over
# a management network would, while MPI's network does not. Through launch/mpirun.sh as users run it:
# - cut in mid-training, FMNIST_RESTARTS=2: mpirun's keepalive ends the job (exit 205, or the
#   watchdog's 6) within about 10 s; node3's agent answers the probe, but the daemon of an mpirun
#   started there never calls back: node3 is dropped; node2's first probe fails (its agent is made
#   to fail once) and the second passes: node2 is kept; the job resumes on nodes 1 and 2 and ends
#   with the uninterrupted run's weights, bit for bit; node3's daemon and rank end by themselves;
# - node3 still cut, a new job on the three nodes: SIGUSR1 while mpirun waits for node3's daemon to
#   call back ends it at once with exit 75, nothing left on any node;
# - the same with FMNIST_RESTARTS=1, left alone: the ranks have not all started within
#   FMNIST_LAUNCH_TIMEOUT, mpirun is ended (exit 6) and the probe begins; SIGUSR1 then ends
#   launch/mpirun.sh at once with exit 75, without a new attempt;
# - once more, not stopped: node3 is dropped by the probe and the job completes on nodes 1 and 2.
source "$(dirname "$0")/../mpi/lib.sh"
source "$(dirname "$0")/lib.sh"
STALL=15  # above mpirun's ~10 s detection of a cut node (docs/clusters.md: Choosing --stall-timeout)
cluster_up 3
ARGS=("${SMALL[@]}" --batch-size 16 --micro-batch 4 --seed 3 --checkpoint-every 5 --stall-timeout "$STALL")

# The agent, failing node2's first probe (`AGENT HOST true`) as a transient ssh error would.
FLAKY=$WORK/flaky_agent
cat >"$FLAKY" <<EOF
#!/bin/sh
if [ "\$#" -eq 2 ] && [ "\$2" = true ] && [ "\${1#*@}" = "$(addr_of 2)" ] && [ ! -e "$WORK/flaky.done" ]; then
  touch "$WORK/flaky.done"
  echo "flaky: Connection reset by peer" >&2
  exit 255
fi
exec "$AGENT" "\$@"
EOF
chmod +x "$FLAKY"
OPTS=$(cluster_opts | sed "s|plm_rsh_agent $AGENT|plm_rsh_agent $FLAKY|")

# job NAME ARGS...: launch/mpirun.sh on the three nodes in the background (pid in JOB), output to WORK/NAME.log.
job() {
  local name=$1
  shift
  FMNIST_MPIRUN_OPTS=$OPTS on 1 timeout -k 5 120 "$SRC/launch/mpirun.sh" 3 "$DIST" "${ARGS[@]}" \
    --out-dir "$WORK/$name" "$@" >"$WORK/$name.log" 2>&1 &
  JOB=$!
}
# ended NAME CODE: the job ended with CODE.
ended() {
  local code=0
  wait "$JOB" || code=$?
  [ "$code" -eq "$2" ] || { cat "$WORK/$1.log" >&2; fail "$1: exit code $code, expected $2"; }
}
# lone_daemon: node3 runs a daemon of the job, which cannot call back.
lone_daemon() {
  for _ in $(seq 300); do
    for p in $(pids_on 3); do [ "$(cat "/proc/$p/comm" 2>/dev/null)" = orted ] && return 0; done
    sleep 0.1
  done
  fail "no Open MPI daemon on node3 after 30 s"
}

# Cut in mid-training, with restarts.
steps=120
FMNIST_RESTARTS=2 FMNIST_PROBE_TIMEOUT=5 job cut --epochs 100 --max-steps "$steps"
wait_for_checkpoint "$WORK/cut/checkpoint.h5"
ip link set "${TAG}v3" down
start=$(now)
wait_for_text 90 "$WORK/cut.log" "restart 1 of 2: [0-9]+ rank"
took=$(elapsed_ms "$start")
ended cut 0
echo "  cut in mid-training: restart $took ms after the cut; $(grep -m1 "dropping host" "$WORK/cut.log" | cut -c1-200)"
expect_text "$WORK/cut.log" "restart 1 of 2: the job ended with exit (205|6) \(a rank or node was lost\)"
expect_text "$WORK/cut.log" "dropping host $NET.13 \(1 slot\(s\)\): its launch agent answers, but its Open MPI daemon did not call back within 5 s"
expect_text "$WORK/cut.log" "host $NET.12 failed a probe \(the agent failed with exit 255: flaky: Connection reset by peer.*\), then answered the second: kept"
[ "$(grep -c "dropping host" "$WORK/cut.log")" -eq 1 ] || { cat "$WORK/cut.log" >&2; fail "not exactly one host dropped"; }
expect_text "$WORK/cut.log" "restart 1 of 2: 2 rank\(s\) on $NET.11 $NET.12 with --resume auto"
expect_text "$WORK/cut.log" "Reached --max-steps $steps"
expect_exit 0 "$WORK/reference.log" mpi 1 "${ARGS[@]}" --epochs 100 --max-steps "$steps" --out-dir "$WORK/reference"
same_weights "$WORK/reference/checkpoint.h5" "$WORK/cut/checkpoint.h5" 0
WITHIN=30 only_sshd_left 1 2 3

# A stop while mpirun waits for node3's daemon.
job stop_in_launch --epochs 1
lone_daemon
kill -USR1 "$(launcher_pid "$WORK/stop_in_launch")"
start=$(now)
ended stop_in_launch 75
took=$(elapsed_ms "$start")
[ "$took" -lt 10000 ] || fail "the launcher took $took ms to stop"
expect_text "$WORK/stop_in_launch.log" "SIGUSR1 during the launch, before the ranks' first exchange: ending mpirun; exit 75"
only_sshd_left 1 2 3
echo "  SIGUSR1 during the launch: exit 75 after $took ms"

# The launch deadline, then a stop while the hosts are probed.
FMNIST_RESTARTS=1 FMNIST_LAUNCH_TIMEOUT=5 FMNIST_PROBE_TIMEOUT=60 job stop_in_probe --epochs 1
start=$(now)
wait_for_text 40 "$WORK/stop_in_probe.log" "restart 1 of 1: the job ended with exit 6"
took=$(elapsed_ms "$start")
expect_text "$WORK/stop_in_probe.log" "the ranks have not all started within FMNIST_LAUNCH_TIMEOUT=5 s"
kill -USR1 "$(launcher_pid "$WORK/stop_in_probe")"
start=$(now)
ended stop_in_probe 75
[ "$(elapsed_ms "$start")" -lt 5000 ] || fail "the launcher took $(elapsed_ms "$start") ms to stop"
expect_text "$WORK/stop_in_probe.log" "SIGUSR1 while probing the hosts: no new attempt; exit 75"
! grep -q "restart 1 of 1: [0-9]* rank" "$WORK/stop_in_probe.log" || fail "a new attempt started after the stop"
only_sshd_left 1 2 3
echo "  launch deadline: exit 6 after $took ms; SIGUSR1 while probing: exit 75"

# The launch deadline, then the probe drops node3 and the job completes.
FMNIST_RESTARTS=1 FMNIST_LAUNCH_TIMEOUT=6 FMNIST_PROBE_TIMEOUT=5 job deadline --epochs 1 --max-steps 6
ended deadline 0
expect_text "$WORK/deadline.log" "dropping host $NET.13 \(1 slot\(s\)\): its launch agent answers, but its Open MPI daemon did not call back"
expect_text "$WORK/deadline.log" "restart 1 of 1: 2 rank\(s\) on $NET.11 $NET.12 with --resume auto"
expect_text "$WORK/deadline.log" "Reached --max-steps 6"
only_sshd_left 1 2 3
echo "  launch deadline with FMNIST_RESTARTS=1: node3 dropped, the job completed on nodes 1 and 2"
echo "1 passed, 0 failed"
