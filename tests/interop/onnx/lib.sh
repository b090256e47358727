# Shared by the ONNX interoperability tests (label interop): where onnx_models.sh, the ctest fixture,
# leaves each trained model (its checkpoint, model.onnx, the negative controls nchw_flatten.onnx or
# activation_changed.onnx and, for a model with BatchNormalization, bn_stats.onnx; our own outputs and
# --evaluate's accuracy), and check_runtime, which holds a runtime to them.
source "$(dirname "${BASH_SOURCE[0]}")/../../mpi/lib.sh"
MODELS_DIR=$BUILD/interop-onnx
# The tutorial's and tests/fixtures/models/<name>.json; small_bn: BatchNormalization after a Conv2D and a
# Dense, center or scale off; small_augment: augmentation layers, which the export leaves out;
# onnx_activations: ZeroPadding2D, LeakyReLU, ReLU, ELU, GlobalAveragePooling2D, a final Softmax and the
# activations (gelu composed from Erf) and initializers OpenCV reads; onnx_relu_forms: relu6 (Clip), ReLU
# with max_value, negative_slope and threshold (Min, Where), gelu's tanh form, Keras 3's hard_sigmoid,
# GlobalMaxPooling2D with keepdims, exponential; small_separable: DepthwiseConv2D, SeparableConv2D and a
# dilated Conv2D (grouped Conv nodes, dilations); small_residual: a Functional model (Add, Concatenate on
# the channels, a tensor taken by three layers).
MODELS=(tutorial onnx_strided_avgpool onnx_rect_logits small_bn small_augment onnx_activations onnx_relu_forms
        small_separable small_residual)
# Models whose Flatten sees one pixel at most (after global pooling): the NCHW flatten order computes the
# same there, so their negative control is an export with an activation made linear (onnx_models.sh).
ONE_PIXEL_FLATTEN=(onnx_activations onnx_relu_forms)
# What OpenCV 4.6's importer cannot read: Clip with its bounds as inputs (opset 11 on), Min with a
# constant, Where (docs/onnx.md). check_runtime leaves out the models named in SKIP_MODELS.
OPENCV_UNREADABLE=(onnx_relu_forms)
SKIP_MODELS=()
DATA=/usr/share/datasets/fashion-mnist
IMAGES=$DATA/t10k-images-idx3-ubyte.gz
LABELS=$DATA/t10k-labels-idx1-ubyte.gz
TOLERANCE=1e-4
PYTHON=/usr/bin/python3  # Debian's, with numpy
COMPARE=$SRC/tests/interop/onnx/compare.py

# check_runtime NAME RUN...: for every model, `RUN MODEL.onnx IMAGES OUTPUT.npy LOGITS.npy` must
# reproduce our outputs and --evaluate's accuracy (compare.py exits 0), and on each negative
# control that the model has it must not (compare.py exits 10: the outputs differ).
check_runtime() {
  local name=$1 m dir out variant got
  shift
  for m in "${MODELS[@]}"; do
    if [[ " ${SKIP_MODELS[*]} " == *" $m "* ]]; then
      echo "$name, $m: left out (it cannot read the model's operators)"
      continue
    fi
    dir=$MODELS_DIR/$m
    out=$WORK/$m
    mkdir -p "$out"
    for variant in model nchw_flatten activation_changed bn_stats; do
      [ "$variant" != model ] && [ ! -f "$dir/$variant.onnx" ] && continue
      expect_exit 0 "$out/$variant.run.log" "$@" "$dir/$variant.onnx" "$IMAGES" "$out/$variant.output.npy" \
        "$out/$variant.logits.npy"
      got=0
      "$PYTHON" "$COMPARE" "$out/$variant.output.npy" "$out/$variant.logits.npy" "$dir/ours_output.npy" \
        "$dir/ours_logits.npy" "$LABELS" "$(cat "$dir/accuracy")" "$TOLERANCE" >"$out/$variant.compare.log" 2>&1 || got=$?
      echo "$name, $m, $variant.onnx: $(cat "$out/$variant.compare.log")"
      if [ "$variant" = model ]; then
        [ "$got" -eq 0 ] || fail "$name does not reproduce $m (compare.py exit $got)"
      else
        [ "$got" -eq 10 ] || fail "$name: the negative control of $m was not caught (compare.py exit $got, expected 10)"
      fi
    done
  done
}
