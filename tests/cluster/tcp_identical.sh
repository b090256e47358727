# 1 rank against 3 ranks on 3 emulated nodes over TCP (tests/cluster/lib.sh): after a few steps
# the weights are the same bytes, and the job really ran one rank per node.
source "$(dirname "$0")/../mpi/lib.sh"
source "$(dirname "$0")/lib.sh"
cluster_up 3
args=("${SMALL[@]}" --batch-size 48 --micro-batch 8 --seed 7 --max-steps 6)
expect_exit 0 "$WORK/one.log" mpi 1 "${args[@]}" --out-dir "$WORK/one"
FMNIST_MPIRUN_OPTS="$(cluster_opts) --display-map" on 1 timeout -k 5 120 "$SRC/launch/mpirun.sh" 3 "$DIST" \
  "${args[@]}" --out-dir "$WORK/three" >"$WORK/three.log" 2>&1 || { cat "$WORK/three.log" >&2; fail "the 3-node run failed"; }
for n in 1 2 3; do
  expect_text "$WORK/three.log" "Data for node: ($(addr_of "$n")|node$n)[[:space:]]+Num slots: 1[[:space:]]+Max slots: 0[[:space:]]+Num procs: 1"
done
expect_text "$WORK/three.log" "3 rank\(s\), global batch 48"
same_weights "$WORK/one/checkpoint.h5" "$WORK/three/checkpoint.h5" 0
# The comparison can fail: another seed gives other bytes.
expect_exit 0 "$WORK/other.log" mpi 1 "${args[@]}" --seed 8 --out-dir "$WORK/other"
if "$INSPECT" "$WORK/other/checkpoint.h5" --compare "$WORK/three/checkpoint.h5" --tolerance 0 >/dev/null 2>&1; then
  fail "checkpoints of different seeds compare equal: the comparison proves nothing"
fi
echo "1 passed, 0 failed"
