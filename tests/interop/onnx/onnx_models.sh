# The fixture of the ONNX interoperability tests: trains the tutorial's model and five others
# (tests/fixtures/models/onnx_*.json: strides, 5x5 and 5x3 kernels, average and max pooling with
# same padding, no bias, Dropout, a logits output; small_bn: BatchNormalization; small_augment:
# augmentation layers; small_separable: depthwise, separable and dilated convolutions) for 20 steps (small_bn 200) on 2 ranks, exports each with fmnist_inspect --export-onnx and,
# as the negative controls, without the NHWC transpose before Flatten and (a model with
# BatchNormalization) from a copy of the checkpoint whose moving statistics are the initial ones
# (mean 0, variance 1), i.e. an export that ignored them; records our own outputs
# (--predict --outputs --logits, evaluation mode) and --evaluate's accuracy.
source "$(dirname "$0")/lib.sh"
[ -f "$IMAGES" ] || { echo "SKIP: $IMAGES is missing (apt-get install dataset-fashion-mnist)"; exit 77; }
rm -rf "$MODELS_DIR"

# initial_bn_statistics CKPT COPY: COPY is CKPT with every BatchNormalization's moving_mean set to 0 and
# moving_variance to 1 in /model_weights (at least one, or it fails).
initial_bn_statistics() {
  cp "$1" "$2"
  "$PYTHON" "$SRC/tests/interop/reset_bn_statistics.py" "$2" || fail "could not reset the moving statistics in $2"
}
for m in "${MODELS[@]}"; do
  dir=$MODELS_DIR/$m
  ckpt=$dir/run/checkpoint.h5
  mkdir -p "$dir"
  model=()
  [ "$m" = tutorial ] || model=(--model "$FIXTURES/models/$m.json")
  # small_bn: 200 steps (2 s here), for its moving statistics (momentum 0.99) to leave their initial values
  steps=20
  [ "$m" = small_bn ] && steps=200
  expect_exit 0 "$dir/train.log" mpi 2 "${model[@]}" --batch-size 128 --max-steps "$steps" --progress never --out-dir "$dir/run"
  expect_exit 0 "$dir/export.log" "$INSPECT" "$ckpt" --export-onnx "$dir/model.onnx"
  expect_text "$dir/export.log" "^Wrote $dir/model.onnx \([0-9]+ bytes\): ONNX opset 13, "
  expect_exit 0 "$dir/nchw_flatten.log" "$BUILD/onnx_export_nchw_flatten" "$ckpt" "$dir/nchw_flatten.onnx"
  cmp -s "$dir/model.onnx" "$dir/nchw_flatten.onnx" && fail "the negative control of $m is the model itself"
  if grep -q '"BatchNormalization"' "$FIXTURES/models/$m.json" 2>/dev/null; then
    initial_bn_statistics "$ckpt" "$dir/bn_stats.h5"
    expect_exit 0 "$dir/bn_stats.log" "$INSPECT" "$dir/bn_stats.h5" --export-onnx "$dir/bn_stats.onnx"
    cmp -s "$dir/model.onnx" "$dir/bn_stats.onnx" && fail "the moving statistics of $m are the initial ones"
  fi
  expect_exit 0 "$dir/predict.log" "$INSPECT" "$ckpt" --predict "$IMAGES" --csv "$dir/predictions.csv" \
    --outputs "$dir/ours_output.npy" --logits "$dir/ours_logits.npy"
  expect_exit 0 "$dir/evaluate.log" "$INSPECT" "$ckpt" --evaluate
  grep -Eo "test_accuracy: [0-9.]+$" "$dir/evaluate.log" | grep -Eo "[0-9.]+$" >"$dir/accuracy" ||
    fail "no test_accuracy from --evaluate of $m"
  echo "$m: $(head -n 1 "$dir/export.log"); --evaluate accuracy $(cat "$dir/accuracy")"
done

# What cannot be exported: an unwritable output (exit 4, nothing left behind) and a damaged checkpoint (exit 4).
ckpt=$MODELS_DIR/tutorial/run/checkpoint.h5
expect_exit 4 "$WORK/unwritable.log" "$INSPECT" "$ckpt" --export-onnx "$WORK/missing/model.onnx"
expect_text "$WORK/unwritable.log" "^fmnist_inspect: $WORK/missing/model.onnx: cannot write: "
[ ! -e "$WORK/missing" ] || fail "--export-onnx left $WORK/missing behind"
head -c 20000 "$ckpt" >"$WORK/truncated.h5"
expect_exit 4 "$WORK/truncated.log" "$INSPECT" "$WORK/truncated.h5" --export-onnx "$WORK/model.onnx"
expect_text "$WORK/truncated.log" "^fmnist_inspect: $WORK/truncated.h5: "
[ ! -e "$WORK/model.onnx" ] || fail "--export-onnx of a truncated checkpoint wrote a file"
echo "1 passed, 0 failed"
