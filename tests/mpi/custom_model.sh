# A model other than the tutorial's, from its Keras 3 JSON (tests/fixtures/models/small_dropout.json:
# "same" padding, strides, average pooling, Dropout, no bias, he initializers, logits output),
# trained end to end on 2 ranks: the loss falls, the checkpoint carries the model (model_config
# reads back as the same JSON), and fmnist_inspect rebuilds the model from the checkpoint: its
# summary, and --evaluate reproduces the run's test figures.
source "$(dirname "$0")/lib.sh"
model=$FIXTURES/models/small_dropout.json
expect_exit 0 "$WORK/run.log" mpi 2 "${SMALL[@]}" --model "$model" --batch-size 32 --epochs 6 --lr 0.003 --out-dir "$WORK/run"
expect_text "$WORK/run.log" "Model: \"small_dropout\""
expect_text "$WORK/run.log" "features \(Conv2D\) +\(None, 14, 14, 12\) +120"
expect_text "$WORK/run.log" "Total params: 4,258"
first=$(sed -n 2p "$WORK/run/history.csv" | cut -d, -f4)
last=$(sed -n 7p "$WORK/run/history.csv" | cut -d, -f4)
awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < 0.95 * a) }' || fail "val_loss did not fall: $first -> $last"
verified "$WORK/run/checkpoint.h5"

"$BUILD/fmnist_dist" --model "$model" --print-model >"$WORK/printed.json"
/usr/bin/python3 - "$WORK/run/checkpoint.h5" "$WORK/printed.json" <<'PY' || fail "model_config differs from --print-model"
import json, sys, h5py
with h5py.File(sys.argv[1], "r") as f:  # --print-model indents (issue 16): the same JSON, other spacing
    assert json.loads(f.attrs["model_config"].decode("utf-8")) == json.load(open(sys.argv[2]))
    assert b"from_logits" in f.attrs["training_config"]
PY

"$INSPECT" "$WORK/run/checkpoint.h5" >"$WORK/inspect.log"
expect_text "$WORK/inspect.log" "drop_hidden \(Dropout\)"
expect_text "$WORK/inspect.log" "mix/kernel:0 +\(3, 3, 12, 16\)"
"$INSPECT" "$WORK/run/checkpoint.h5" --evaluate --data-dir "$FIXTURES/idx" >"$WORK/evaluate.log"
[ "$(grep '^test_loss' "$WORK/evaluate.log")" = "$(tail -n 1 "$WORK/run.log")" ] ||
  fail "fmnist_inspect --evaluate: $(grep '^test_loss' "$WORK/evaluate.log"), the run: $(tail -n 1 "$WORK/run.log")"
echo "1 passed, 0 failed"
