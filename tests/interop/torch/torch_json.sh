#!/usr/bin/env bash
# PyTorch built from the same Keras JSON (tests/bench/torch_ref.py, Debian's python3-torch) against
# fmnist_dist, on a functional residual model (Add, Concatenate, a 1x1 branch; tests/fixtures/models/
# small_residual.json), a separable one (DepthwiseConv2D, SeparableConv2D, a dilated Conv2D;
# small_separable.json) and one in Keras 3's form with what those lack (keras3_functional.json: a
# 1x1 stride-2 shortcut, silu, gelu, leaky_relu, tanh, relu6, LeakyReLU, global pooling, L2), Dropout off. For each: fmnist_dist trains 4 full-batch SGD steps on one rank;
# PyTorch, started from our weights after step 1, takes the next three and its losses are ours to float
# noise (the graph's forward and backward, BatchNormalization's batch statistics, the update); PyTorch
# given our final checkpoint gives our test_loss and test_accuracy. Control: the same JSON with its
# hidden activations made linear must give PyTorch another test_loss.
source "$(dirname "$0")/../../mpi/lib.sh"
PY=/usr/bin/python3  # Debian's interpreter, which python3-torch is installed for
"$PY" -c "import torch" 2>/dev/null || {
  echo "python3-torch is not installed (launch/setup.sh --tests installs it)"
  exit 77
}
torch_ref() { "$PY" "$SRC/tests/bench/torch_ref.py" --data-dir "$FIXTURES/idx" --threads 1 "$@"; }

for name in small_residual small_separable keras3_functional; do
  dir=$WORK/$name
  mkdir -p "$dir"
  # The model without Dropout, and the control: its hidden activations (all but softmax) made linear.
  without_dropout "$FIXTURES/models/$name.json" "$dir/model.json"
  "$PY" - "$dir/model.json" "$dir/wrong.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
for layer in doc["config"]["layers"]:
    if layer["config"].get("activation") not in (None, "linear", "softmax"):
        layer["config"]["activation"] = "linear"
json.dump(doc, open(sys.argv[2], "w"))
PY
  run=("${SMALL[@]}" --model "$dir/model.json" --batch-size 210 --micro-batch 70 --optimizer sgd --momentum 0
    --lr 0.1 --epochs 4 --seed 3 --out-dir "$dir/out")
  expect_exit 0 "$dir/step1.log" mpi 1 "${run[@]}" --max-steps 1
  cp "$dir/out/checkpoint.h5" "$dir/step1.h5"
  expect_exit 0 "$dir/train.log" mpi 1 "${run[@]}" --resume auto
  "$INSPECT" "$dir/out/checkpoint.h5" --json >"$dir/ours.json"
  torch_ref --model "$dir/model.json" --init-weights "$dir/step1.h5" --batch-size 210 --optimizer sgd \
    --momentum 0 --lr 0.1 --epochs 3 --seed 3 >"$dir/steps.log" 2>&1 || { cat "$dir/steps.log" >&2; fail "torch_ref.py ($name, steps)"; }
  torch_ref --model "$dir/model.json" --init-weights "$dir/out/checkpoint.h5" --epochs 0 >"$dir/test.log" 2>&1 ||
    { cat "$dir/test.log" >&2; fail "torch_ref.py ($name, test)"; }
  torch_ref --model "$dir/wrong.json" --init-weights "$dir/out/checkpoint.h5" --epochs 0 >"$dir/wrong.log" 2>&1 ||
    { cat "$dir/wrong.log" >&2; fail "torch_ref.py ($name, control)"; }
  "$PY" - "$name" "$dir/ours.json" "$dir/steps.log" "$dir/test.log" "$dir/wrong.log" <<'PY' || fail "$name: PyTorch from the JSON is not fmnist_dist"
import json, sys
name, ours = sys.argv[1], json.load(open(sys.argv[2]))
def lines(path):
    return [json.loads(l) for l in open(path) if l.startswith("{")]
steps = [r["loss"] for r in lines(sys.argv[3]) if "epoch" in r]
test, wrong = lines(sys.argv[4])[-1], lines(sys.argv[5])[-1]
mine, ev = ours["history"]["loss"][1:], ours["evaluation"]
print(f"{name}: losses of steps 2-4 fmnist_dist {mine}, PyTorch {steps}; test_loss fmnist_dist "
      f"{ev['test_loss']:.7f} PyTorch {test['test_loss']:.7f}, control {wrong['test_loss']:.7f}")
assert len(mine) == len(steps) == 3, (mine, steps)
assert all(abs(a - b) <= 1e-5 * abs(a) for a, b in zip(mine, steps)), "the training steps differ"
assert abs(test["test_loss"] - ev["test_loss"]) <= 1e-5 * ev["test_loss"], "test_loss differs"
assert test["test_accuracy"] == ev["test_accuracy"], "test_accuracy differs"
assert abs(wrong["test_loss"] - ev["test_loss"]) > 1e-4 * ev["test_loss"], "the control matched"
PY
done
echo "PyTorch from the JSON: the residual, separable and Keras 3 models agree, the controls do not"
