# Ranks whose kernels were built for different instruction sets (docs/clusters.md: Nodes with
# different processors): this build (-DFMNIST_NATIVE=ON, e.g. AVX-512) beside a portable one (-DFMNIST_NATIVE=OFF,
# SSE2), launched MPMD. The run trains, rank 0 prints ONE warning naming both ranks, their hosts
# and -DFMNIST_NATIVE=OFF; checkpoints record the writer's instruction set (/training attribute
# isa), and a resume by the other build says so in one line. The portable build is
# $FMNIST_PORTABLE_BUILD, else build-portable/ or build-asan/ in the source tree. Not a ctest test
# (it needs that second build): .ci/run builds build-portable/ and runs it; skipped (77) without a
# portable build, or where both builds are the same.
source "$(dirname "$0")/lib.sh"
PORTABLE=${FMNIST_PORTABLE_BUILD:-}
for dir in "$SRC/build-portable" "$SRC/build-asan"; do
  [ -n "$PORTABLE" ] || { [ -x "$dir/fmnist_dist" ] && PORTABLE=$dir; }
done
[ -n "$PORTABLE" ] && [ -x "$PORTABLE/fmnist_dist" ] || { echo "SKIP: no portable build (-DFMNIST_NATIVE=OFF)"; exit 77; }
OTHER=$PORTABLE/fmnist_dist
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}  # a sanitized twin: Open MPI's own allocations are not ours
HOST=$(hostname)
ARGS=("${SMALL[@]}" --batch-size 16 --micro-batch 8 --epochs 1)

# isa_of FILE: the /training attribute isa of a checkpoint.
isa_of() { h5dump -a /training/isa "$1" | sed -n 's/^ *(0): "\(.*\)"$/\1/p'; }

expect_exit 0 "$WORK/native.log" mpi 1 "${ARGS[@]}" --out-dir "$WORK/native"
expect_exit 0 "$WORK/portable.log" timeout -k 5 60 "$SRC/launch/mpirun.sh" 1 "$OTHER" "${ARGS[@]}" --out-dir "$WORK/portable"
native=$(isa_of "$WORK/native/checkpoint.h5")
portable=$(isa_of "$WORK/portable/checkpoint.h5")
echo "  this build: $native; portable build: $portable"
[ -n "$native" ] && [ -n "$portable" ] || fail "a checkpoint lacks /training/isa"
[ "$native" != "$portable" ] || { echo "SKIP: both builds use $native on this machine"; exit 77; }

# MPMD: rank 0 this build, rank 1 the portable one.
flags=()
[ "$(id -u)" -eq 0 ] && flags+=(--allow-run-as-root)
expect_exit 0 "$WORK/mixed.log" timeout -k 5 120 mpirun "${flags[@]}" \
  -np 1 "$DIST" "${ARGS[@]}" --out-dir "$WORK/mixed" : -np 1 "$OTHER" "${ARGS[@]}" --out-dir "$WORK/mixed"
n=$(grep -c "warning: the ranks' kernels were built for different instruction sets" "$WORK/mixed.log" || true)
[ "$n" -eq 1 ] || { cat "$WORK/mixed.log" >&2; fail "expected one instruction-set warning, found $n"; }
q() { printf '%s' "$1" | sed 's/[][().*+?^$|\\]/\\&/g'; }
expect_text "$WORK/mixed.log" "$(q "$native") on rank 0 \($HOST\)"
expect_text "$WORK/mixed.log" "$(q "$portable") on rank 1 \($HOST\)"
expect_text "$WORK/mixed.log" "-DFMNIST_NATIVE=OFF on every node"
expect_text "$WORK/mixed.log" "test_loss: [0-9.]+"
! grep -q "warning" "$WORK/native.log" || fail "a run of one build warned about instruction sets"

# A resume by the other build says so in one line.
expect_exit 0 "$WORK/resume.log" timeout -k 5 60 "$SRC/launch/mpirun.sh" 1 "$OTHER" "${ARGS[@]}" --epochs 2 \
  --out-dir "$WORK/native" --resume auto
expect_text "$WORK/resume.log" "was written by kernels built for $(q "$native"), these are built for $(q "$portable")"
[ "$(isa_of "$WORK/native/checkpoint.h5")" = "$portable" ] || fail "the resumed run's checkpoint does not record its own isa"
echo "  warning: $(grep -m1 "instruction sets" "$WORK/mixed.log" | cut -c1-220)"
echo "1 passed, 0 failed"
