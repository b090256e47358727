# The depthwise, separable and dilated convolutions compute the same bytes on any number of ranks:
# tests/fixtures/models/small_separable.json (a DepthwiseConv2D dilated with depth_multiplier 2, two
# SeparableConv2D, one strided without bias, a dilated Conv2D) trained from one seed on 1 and 3 ranks
# ends with the same weight bytes. Control: another seed differs. A DepthwiseConv2D whose
# dilation_rate comes with strides is refused on every rank (exit 2), naming the layer and the field.
source "$(dirname "$0")/lib.sh"
model=$FIXTURES/models/small_separable.json
run=("${SMALL[@]}" --model "$model" --batch-size 64 --micro-batch 16 --seed 3)
same_over_ranks 1 3
expect_text "$WORK/np1.log" "depthwise_conv2d \(DepthwiseConv2D\) +\(None, 26, 26, 16\) +160"
expect_text "$WORK/np1.log" "Total params: 6,346"
grep -q "separable_conv2d_1/pointwise_kernel:0 .*0.000e+00 ok" "$WORK/compare.log" || {
  cat "$WORK/compare.log" >&2
  fail "the comparison did not cover the pointwise kernel"
}

# Control: another seed gives other weights (the comparison can fail).
expect_exit 0 "$WORK/c.log" mpi 1 "${run[@]}" --seed 4 --max-steps 6 --out-dir "$WORK/other_seed"
weights_differ "$WORK/np1/checkpoint.h5" other_seed

# Dilation with strides, as Keras, is refused before training on every rank.
/usr/bin/python3 - "$model" "$WORK/strided.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
doc["config"]["layers"][2]["config"]["strides"] = [2, 2]
json.dump(doc, open(sys.argv[2], "w"))
PY
expect_exit 2 "$WORK/strided.log" mpi 2 "${SMALL[@]}" --model "$WORK/strided.json" --out-dir "$WORK/strided"
expect_text "$WORK/strided.log" "layer 2 'depthwise_conv2d' \(DepthwiseConv2D\): field 'dilation_rate': \[2, 2\] is not supported with strides \[2, 2\]"
echo "3 passed, 0 failed"
