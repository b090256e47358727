# Ranks whose share of a batch is empty still join the allreduce: 3 ranks, batches of 2.
source "$(dirname "$0")/lib.sh"
expect_exit 0 "$WORK/np3.log" mpi 3 "${SMALL[@]}" --batch-size 2 --max-steps 4 --out-dir "$WORK/np3"
expect_exit 0 "$WORK/np1.log" mpi 1 "${SMALL[@]}" --batch-size 2 --max-steps 4 --out-dir "$WORK/np1"
same_weights "$WORK/np1/checkpoint.h5" "$WORK/np3/checkpoint.h5" 0
echo "1 passed, 0 failed"
