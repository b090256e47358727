# Dropout keeps the promises of N-invariance and exact resume: a model with two Dropout layers
# (tests/fixtures/models/small_dropout.json) trained from one seed with N = 1 and N = 3 ranks,
# and stopped and resumed on 2 ranks, ends with the same weight bytes. Controls: the masks are
# really drawn (rate 0 gives other weights), and the comparison can fail (another seed).
source "$(dirname "$0")/lib.sh"
model=$FIXTURES/models/small_dropout.json
run=("${SMALL[@]}" --model "$model" --batch-size 64 --micro-batch 16 --seed 3)
for np in 1 3; do
  expect_exit 0 "$WORK/np$np.log" mpi "$np" "${run[@]}" --max-steps 6 --out-dir "$WORK/np$np"
  expect_text "$WORK/np$np.log" "Reached --max-steps 6"
done
same_weights "$WORK/np1/checkpoint.h5" "$WORK/np3/checkpoint.h5" 0

# Stopped after step 2 (inside epoch 1) and resumed on 2 ranks: the same bytes as never stopped.
expect_exit 0 "$WORK/a.log" mpi 2 "${run[@]}" --max-steps 2 --out-dir "$WORK/parts"
expect_exit 0 "$WORK/b.log" mpi 2 "${run[@]}" --max-steps 6 --out-dir "$WORK/parts" --resume auto
expect_text "$WORK/b.log" "Resumed at epoch 1, step 2 of the epoch"
same_weights "$WORK/np1/checkpoint.h5" "$WORK/parts/checkpoint.h5" 0

# Controls: without dropout (rate 0) and with another seed the weights differ.
sed 's/"rate": [0-9.]*/"rate": 0.0/' "$model" >"$WORK/no_dropout.json"
expect_exit 0 "$WORK/c.log" mpi 1 "${SMALL[@]}" --model "$WORK/no_dropout.json" --batch-size 64 --micro-batch 16 \
  --seed 3 --max-steps 6 --out-dir "$WORK/no_dropout"
expect_exit 0 "$WORK/d.log" mpi 1 "${run[@]}" --seed 4 --max-steps 6 --out-dir "$WORK/other_seed"
for other in no_dropout other_seed; do
  if "$INSPECT" "$WORK/np1/checkpoint.h5" --compare "$WORK/$other/checkpoint.h5" --tolerance 1e-6 >/dev/null 2>&1; then
    fail "$other gave the same weights: the comparison cannot fail"
  fi
done
echo "2 passed, 0 failed"
