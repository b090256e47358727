# An error on one rank in mid-training ends the whole job quickly through MPI_Abort,
# with a message naming the rank and the cause; and a start-up mismatch between ranks
# is refused collectively, naming the rank and the field.
source "$(dirname "$0")/lib.sh"
start=$(now)
FMNIST_TEST_FAIL_AT=1:3 expect_exit 1 "$WORK/fail.log" mpi 2 "${SMALL[@]}" --batch-size 16 --epochs 50 --out-dir "$WORK/a"
took=$(elapsed_ms "$start")
expect_text "$WORK/fail.log" "rank 1: error: injected failure"
[ "$took" -lt 10000 ] || fail "the job took ${took} ms to end after the failure"

# MPMD launch where rank 1 has another seed: exit 2 on every rank, one message naming rank 1.
flags=()
[ "$(id -u)" -eq 0 ] && flags+=(--allow-run-as-root)
expect_exit 2 "$WORK/mismatch.log" timeout -k 5 60 mpirun "${flags[@]}" \
  -np 1 "$DIST" "${SMALL[@]}" --batch-size 16 --seed 1 --out-dir "$WORK/b" : \
  -np 1 "$DIST" "${SMALL[@]}" --batch-size 16 --seed 2 --out-dir "$WORK/b"
expect_text "$WORK/mismatch.log" "rank 1: seed is 2 here but 1 on rank 0"
[ "$(grep -c 'error:' "$WORK/mismatch.log")" -eq 1 ] || fail "the mismatch was reported more than once"
echo "2 passed, 0 failed"
