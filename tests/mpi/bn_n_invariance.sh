# BatchNormalization normalises with the statistics of the whole global batch, exchanged in fixed
# point: a model with three BatchNormalizations (tests/fixtures/models/small_bn.json: after a
# Conv2D, after a Conv2D without center, after a Dense without scale) trained from one seed on
# 1, 2 and 3 ranks ends with the same weight bytes, moving statistics included (and the
# Conv2D -> BatchNormalization block of conv_bn_block.json on 1 and 3 ranks); stopped with
# --max-steps and resumed (--resume auto) on 2 ranks, it equals the uninterrupted run. Controls:
# another seed differs; a BatchNormalization on a non-channels axis is refused (exit 2).
source "$(dirname "$0")/lib.sh"
model=$FIXTURES/models/small_bn.json
run=("${SMALL[@]}" --model "$model" --batch-size 64 --micro-batch 16 --seed 3)
same_over_ranks 1 2 3
expect_text "$WORK/np1.log" "Non-trainable params: 60"
grep -q "batch_normalization_2/moving_variance:0 .*0.000e+00 ok" "$WORK/compare.log" || {
  cat "$WORK/compare.log" >&2
  fail "the comparison did not cover the moving statistics"
}

# Stopped after step 2 (inside epoch 1) and resumed on 2 ranks: the same bytes as never stopped.
resume_same_as "$WORK/np1/checkpoint.h5"

# The Conv2D(relu) -> BatchNormalization block (conv_bn_block.json: the direct dX and dW of
# stride-1 'same' convolutions, docs/performance.md) on 1 and 3 ranks: the same bytes.
block=("${SMALL[@]}" --model "$FIXTURES/models/conv_bn_block.json" --batch-size 48 --micro-batch 16 --seed 3)
for np in 1 3; do
  expect_exit 0 "$WORK/block$np.log" mpi "$np" "${block[@]}" --max-steps 3 --out-dir "$WORK/block$np"
done
same_weights "$WORK/block1/checkpoint.h5" "$WORK/block3/checkpoint.h5" 0

# Control: another seed gives other weights (the comparison can fail).
expect_exit 0 "$WORK/c.log" mpi 1 "${run[@]}" --seed 4 --max-steps 6 --out-dir "$WORK/other_seed"
weights_differ "$WORK/np1/checkpoint.h5" other_seed

# A BatchNormalization over axis 1 of a Conv2D's output is refused, naming layer, field and value.
/usr/bin/python3 - "$model" "$WORK/axis1.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
doc["config"]["layers"][2]["config"]["axis"] = [1]
json.dump(doc, open(sys.argv[2], "w"))
PY
expect_exit 2 "$WORK/axis.log" mpi 2 "${SMALL[@]}" --model "$WORK/axis1.json" --out-dir "$WORK/axis"
expect_text "$WORK/axis.log" "layer 2 'batch_normalization' \(BatchNormalization\): field 'axis': 1 is not supported"
echo "4 passed, 0 failed"
