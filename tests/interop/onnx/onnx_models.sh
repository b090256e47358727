# The fixture of the ONNX interoperability tests: trains the tutorial's model and eight others
# (tests/fixtures/models/onnx_*.json: strides, 5x5 and 5x3 kernels, average and max pooling with
# same padding, no bias, Dropout, a logits output, the activations, activation layers, global
# pooling and zero padding; small_bn: BatchNormalization; small_augment: augmentation layers;
# small_separable: depthwise, separable and dilated convolutions; small_residual: a Functional model
# with Add and Concatenate; lib.sh says which holds what) for 20 steps (small_bn 200; onnx_activations
# and onnx_relu_forms 120, with Adam) on 2 ranks, exports each with fmnist_inspect --export-onnx and,
# as the negative controls, without the NHWC transpose before Flatten (a model whose Flatten sees one
# pixel at most, where either order is the same: from a copy of the checkpoint whose first activation
# is linear instead, lib.sh's ONE_PIXEL_FLATTEN) and (a model with BatchNormalization) from a copy of
# the checkpoint whose moving statistics are the initial ones (mean 0, variance 1), i.e. an export that
# ignored them; records our own outputs (--predict --outputs --logits, evaluation mode) and
# --evaluate's accuracy.
source "$(dirname "$0")/lib.sh"
[ -f "$IMAGES" ] || { echo "SKIP: $IMAGES is missing (apt-get install dataset-fashion-mnist)"; exit 77; }
rm -rf "$MODELS_DIR"

# initial_bn_statistics CKPT COPY: COPY is CKPT with every BatchNormalization's moving_mean set to 0 and
# moving_variance to 1 in /model_weights (at least one, or it fails).
initial_bn_statistics() {
  cp "$1" "$2"
  "$PYTHON" "$SRC/tests/interop/reset_bn_statistics.py" "$2" || fail "could not reset the moving statistics in $2"
}
# linear_activation CKPT COPY: COPY is CKPT whose model_config has its first activation other than
# linear made linear (the weights as they are).
linear_activation() {
  cp "$1" "$2"
  "$PYTHON" - "$2" <<'PY' || fail "could not change an activation in $2"
import h5py, json, sys
with h5py.File(sys.argv[1], "r+") as f:
    config = json.loads(f.attrs["model_config"])
    layer = next(l for l in config["config"]["layers"] if l["config"].get("activation", "linear") != "linear")
    layer["config"]["activation"] = "linear"
    f.attrs["model_config"] = json.dumps(config).encode()
PY
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
  # The ONE_PIXEL_FLATTEN models (saturating activations, global pooling) stay at one class for 60 steps at
  # the default rate: 120 steps of Adam at 0.01 (8 s here) bring them to 30% and 59%, outputs that vary by image.
  [[ " ${ONE_PIXEL_FLATTEN[*]} " == *" $m "* ]] && steps=120 && model+=(--optimizer adam --lr 0.01)
  expect_exit 0 "$dir/train.log" mpi 2 "${model[@]}" --batch-size 128 --max-steps "$steps" --progress never --out-dir "$dir/run"
  expect_exit 0 "$dir/export.log" "$INSPECT" "$ckpt" --export-onnx "$dir/model.onnx"
  expect_text "$dir/export.log" "^Wrote $dir/model.onnx \([0-9]+ bytes\): ONNX opset 13, "
  if [[ " ${ONE_PIXEL_FLATTEN[*]} " == *" $m "* ]]; then
    linear_activation "$ckpt" "$dir/activation_changed.h5"
    expect_exit 0 "$dir/activation_changed.log" "$INSPECT" "$dir/activation_changed.h5" --export-onnx \
      "$dir/activation_changed.onnx"
    cmp -s "$dir/model.onnx" "$dir/activation_changed.onnx" && fail "the negative control of $m is the model itself"
  else
    expect_exit 0 "$dir/nchw_flatten.log" "$BUILD/onnx_export_nchw_flatten" "$ckpt" "$dir/nchw_flatten.onnx"
    cmp -s "$dir/model.onnx" "$dir/nchw_flatten.onnx" && fail "the negative control of $m is the model itself"
  fi
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
