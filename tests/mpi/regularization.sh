# Regularization as Keras does it (docs/training.md: Regularization): a model with weight regularizers
# on every kind of weight (tests/fixtures/models/small_regularized.json: kernels, a bias,
# BatchNormalization's gamma and beta) trained by --optimizer adamw with --weight-decay under a cosine
# schedule and --label-smoothing, from one seed on 1, 2 and 3 ranks, ends with the same weight bytes;
# stopped with --max-steps and resumed on 2 ranks it equals the uninterrupted run. The checkpoint records both
# options and Keras's training_config. The run's test_loss is the cross-entropy that fmnist_inspect
# --evaluate recomputes plus the penalty of the final weights, computed here from the checkpoint with
# Keras's formula. Controls: without the decay and smoothing the weights differ; a resume with another
# --label-smoothing and an unknown regularizer class are refused on every rank. Last, where PyTorch is
# installed, its losses for the same steps (tests/bench/torch_ref.py) are ours.
source "$(dirname "$0")/lib.sh"
model=$FIXTURES/models/small_regularized.json
run=("${SMALL[@]}" --model "$model" --batch-size 64 --micro-batch 16 --seed 3 --optimizer adamw --weight-decay 0.01
  --label-smoothing 0.1 --lr-schedule cosine --lr 0.003)
same_over_ranks 1 2 3
grep -q "conv2d/kernel:0 .*0.000e+00 ok" "$WORK/compare.log" || {
  cat "$WORK/compare.log" >&2
  fail "the comparison did not cover the regularized kernels"
}

# Stopped after step 2 (inside epoch 1) and resumed on 2 ranks: the same bytes as never stopped.
resume_same_as "$WORK/np1/checkpoint.h5"

# The options in /training and Keras's training_config (loss and optimizer).
"$INSPECT" "$WORK/np1/checkpoint.h5" --json >"$WORK/np1.json"
/usr/bin/python3 - "$WORK/np1.json" "$WORK/np1/checkpoint.h5" <<'PY' || fail "the checkpoint does not record the options"
import json, sys, h5py
training = json.load(open(sys.argv[1]))["training"]
assert training["weight_decay"] == 0.01 and training["label_smoothing"] == 0.1, training
with h5py.File(sys.argv[2], "r") as f:
    config = json.loads(f.attrs["training_config"].decode("utf-8"))
assert config["loss"]["config"]["label_smoothing"] == 0.1, config["loss"]
assert config["optimizer_config"]["class_name"] == "AdamW", config["optimizer_config"]
assert config["optimizer_config"]["config"]["weight_decay"] == 0.01, config["optimizer_config"]
PY

# A whole epoch with the regularizers alone (also the control: without the decay and smoothing the
# weights differ), then the test evaluation: its loss includes the penalty of the final weights.
expect_exit 0 "$WORK/plain.log" mpi 2 "${run[@]}" --weight-decay 0 --label-smoothing 0 --epochs 1 --out-dir "$WORK/plain"
weights_differ "$WORK/np1/checkpoint.h5" plain
"$INSPECT" "$WORK/plain/checkpoint.h5" --evaluate --data-dir "$FIXTURES/idx" --json >"$WORK/plain.json"
/usr/bin/python3 - "$WORK/plain.json" "$WORK/plain/checkpoint.h5" <<'PY' || fail "test_loss is not the cross-entropy plus the penalty"
import json, sys, h5py
import numpy as np
report = json.load(open(sys.argv[1]))
with h5py.File(sys.argv[2], "r") as f:
    layers = json.loads(f.attrs["model_config"].decode("utf-8"))["config"]["layers"]
    weights = {}
    f["model_weights"].visititems(lambda name, d: weights.__setitem__(name.split("/", 1)[1], d[()]) if isinstance(d, h5py.Dataset) else None)
penalty = 0.0
fields = {"kernel:0": "kernel_regularizer", "bias:0": "bias_regularizer", "gamma:0": "gamma_regularizer", "beta:0": "beta_regularizer"}
for layer in layers:
    c = layer["config"]
    for what, field in fields.items():
        r = c.get(field)
        if r is None or c["name"] + "/" + what not in weights:
            continue
        w = weights[c["name"] + "/" + what].astype(np.float64)
        penalty += r["config"]["l1"] * np.abs(w).sum() + r["config"]["l2"] * np.square(w).sum()  # written as L1L2
run_loss, plain_loss = report["evaluation"]["test_loss"], report["test"]["test_loss"]
print("run", run_loss, "cross-entropy", plain_loss, "penalty", penalty)
assert penalty > 0.01, penalty
assert abs(run_loss - (plain_loss + penalty)) < 1e-5, (run_loss, plain_loss, penalty)
PY

# A resume with another --label-smoothing is refused (the loss would change meaning).
expect_exit 4 "$WORK/smooth.log" mpi 2 "${run[@]}" --label-smoothing 0.2 --max-steps 8 --out-dir "$WORK/np2" --resume auto
expect_text "$WORK/smooth.log" "label_smoothing is 0.1 in the checkpoint but 0.2 in this run"

# An unknown regularizer class is refused on every rank, naming the layer and the field.
/usr/bin/python3 - "$model" "$WORK/bad.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
doc["config"]["layers"][5]["config"]["kernel_regularizer"] = {"class_name": "OrthogonalRegularizer", "config": {}}
json.dump(doc, open(sys.argv[2], "w"))
PY
expect_exit 2 "$WORK/bad.log" mpi 2 "${SMALL[@]}" --model "$WORK/bad.json" --out-dir "$WORK/bad"
expect_text "$WORK/bad.log" "layer 5 'conv2d_1' \(Conv2D\): field 'kernel_regularizer': .* is not supported \(a regularizer of class L1, L2 or L1L2\)"
# Against PyTorch (tests/bench/torch_ref.py, when python3-torch is installed): the training split as one
# batch (the data order does not matter), SGD without momentum, no Dropout; PyTorch starts from our
# weights after step 1 and its next three steps' losses (the penalty of the weights each step saw, the
# smoothed cross-entropy, the decayed weights) are ours to float noise. Control: without the weight decay
# PyTorch's third differs.
if /usr/bin/python3 -c "import torch" 2>/dev/null; then
  without_dropout "$model" "$WORK/nodrop.json"
  full=("${SMALL[@]}" --model "$WORK/nodrop.json" --batch-size 210 --micro-batch 70 --optimizer sgd --momentum 0
    --lr 0.05 --weight-decay 0.01 --label-smoothing 0.1 --epochs 4 --seed 1)
  expect_exit 0 "$WORK/full1.log" mpi 1 "${full[@]}" --max-steps 1 --out-dir "$WORK/full"
  cp "$WORK/full/checkpoint.h5" "$WORK/step1.h5"
  expect_exit 0 "$WORK/full2.log" mpi 1 "${full[@]}" --resume auto --out-dir "$WORK/full"
  "$INSPECT" "$WORK/full/checkpoint.h5" --json >"$WORK/full.json"
  torch=(/usr/bin/python3 "$SRC/tests/bench/torch_ref.py" --init-weights "$WORK/step1.h5" --model "$WORK/nodrop.json"
    --data-dir "$FIXTURES/idx" --batch-size 210 --optimizer sgd --momentum 0 --lr 0.05 --label-smoothing 0.1
    --epochs 3 --threads 1 --seed 1)
  "${torch[@]}" --weight-decay 0.01 >"$WORK/torch.log" 2>&1 || { cat "$WORK/torch.log" >&2; fail "torch_ref.py"; }
  "${torch[@]}" --weight-decay 0 >"$WORK/torch_nodecay.log" 2>&1 || { cat "$WORK/torch_nodecay.log" >&2; fail "torch_ref.py"; }
  /usr/bin/python3 - "$WORK/full.json" "$WORK/torch.log" "$WORK/torch_nodecay.log" <<'PY' || fail "PyTorch's losses are not ours"
import json, sys
ours = json.load(open(sys.argv[1]))["history"]["loss"][1:]
def losses(path):
    return [json.loads(line)["loss"] for line in open(path) if line.startswith('{"epoch"')]
theirs, control = losses(sys.argv[2]), losses(sys.argv[3])
print("fmnist_dist", ours, "PyTorch", theirs, "PyTorch without the decay", control)
assert len(ours) == len(theirs) == 3, (ours, theirs)
assert all(abs(a - b) <= 1e-5 * abs(a) for a, b in zip(ours, theirs)), (ours, theirs)
assert abs(control[2] - ours[2]) > 1e-4 * abs(ours[2]), (control, ours)
PY
  echo "6 passed, 0 failed"
else
  echo "python3-torch is not installed: no comparison with PyTorch"
  echo "5 passed, 0 failed, 1 skipped"
fi
