# Dropout keeps the promises of N-invariance and exact resume: a model with two Dropout layers
# (tests/fixtures/models/small_dropout.json) trained from one seed with N = 1 and N = 3 ranks,
# and stopped and resumed on 2 ranks, ends with the same weight bytes. Controls: the masks are
# really drawn (rate 0 gives other weights), and the comparison can fail (another seed).
source "$(dirname "$0")/lib.sh"
model=$FIXTURES/models/small_dropout.json
run=("${SMALL[@]}" --model "$model" --batch-size 64 --micro-batch 16 --seed 3)
same_over_ranks 1 3

# Stopped after step 2 (inside epoch 1) and resumed on 2 ranks: the same bytes as never stopped.
resume_same_as "$WORK/np1/checkpoint.h5"

# Controls: without dropout (rate 0) and with another seed the weights differ.
sed 's/"rate": [0-9.]*/"rate": 0.0/' "$model" >"$WORK/no_dropout.json"
expect_exit 0 "$WORK/c.log" mpi 1 "${SMALL[@]}" --model "$WORK/no_dropout.json" --batch-size 64 --micro-batch 16 \
  --seed 3 --max-steps 6 --out-dir "$WORK/no_dropout"
expect_exit 0 "$WORK/d.log" mpi 1 "${run[@]}" --seed 4 --max-steps 6 --out-dir "$WORK/other_seed"
weights_differ "$WORK/np1/checkpoint.h5" no_dropout other_seed
echo "2 passed, 0 failed"
