# The golden test of our Keras fields (keras_fields.py; docs/contributing.md: Tests, interop): --print-model of every
# model fixture and the root attributes of real checkpoints (RMSprop, Adam, SGD; softmax and logits
# outputs; a Functional model) have every field Keras 2 and Keras 3 require and none they reject. Negative controls: one
# field extra or missing, in each part, must fail the check.
set -euo pipefail
BUILD=${FMNIST_BUILD:?set by ctest}
SRC=${FMNIST_SOURCE_DIR:?set by ctest}
HERE=$SRC/tests/interop/tfjs
FIXTURES=$SRC/tests/fixtures
WORK=$(mktemp -d "${TMPDIR:-/tmp}/fmnist_fields.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
CHECK=(/usr/bin/python3 "$HERE/keras_fields.py")

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

models=("$FIXTURES"/models/*.json "$HERE"/models/*.json)
for model in "${models[@]}"; do
  "$BUILD/fmnist_dist" --model "$model" --print-model >"$WORK/$(basename "$model")" || fail "--print-model $model"
done
"$BUILD/fmnist_dist" --print-model >"$WORK/default.json"

# One step on the small fixture data (300 images) gives a checkpoint with everything at the root.
step() {
  local name=$1
  shift
  timeout -k 5 120 "$SRC/launch/mpirun.sh" 1 "$BUILD/fmnist_dist" --data-dir "$FIXTURES/idx" --progress never \
    --batch-size 32 --max-steps 1 --out-dir "$WORK/$name" "$@" >"$WORK/$name.log" 2>&1 ||
    { cat "$WORK/$name.log" >&2; fail "training $name"; }
}
step rmsprop
step adam --optimizer adam --model "$FIXTURES/models/small_dropout.json"
step sgd --optimizer sgd --model "$HERE/models/wide5x5.json"
step functional --model "$FIXTURES/models/small_residual.json"
checkpoints=("$WORK"/{rmsprop,adam,sgd,functional}/checkpoint.h5)

"${CHECK[@]}" "$WORK"/*.json "${checkpoints[@]}" || fail "our fields are not the ones Keras takes (above)"

# control NAME FILE PYTHON: a copy of FILE (.json, or .h5 whose attributes model_config and
# training_config PYTHON changes as `model` and `training`) must fail the check, naming the field.
control() {
  local name=$1 file=$2 change=$3 got=0
  local copy=$WORK/control_$((++controls)).${file##*.}
  cp "$file" "$copy"
  /usr/bin/python3 - "$copy" "$change" <<'PY'
import json, sys
path, change = sys.argv[1], sys.argv[2]
if path.endswith(".json"):
    model, training = json.load(open(path)), None
    exec(change)
    json.dump(model, open(path, "w"))
else:
    import h5py
    with h5py.File(path, "r+") as f:
        model, training = json.loads(f.attrs["model_config"]), json.loads(f.attrs["training_config"])
        exec(change)
        f.attrs["model_config"], f.attrs["training_config"] = json.dumps(model).encode(), json.dumps(training).encode()
PY
  "${CHECK[@]}" "$copy" >"$WORK/control.log" 2>&1 || got=$?
  [ "$got" -eq 1 ] && grep -q "$name" "$WORK/control.log" || {
    cat "$WORK/control.log" >&2
    fail "negative control: the check did not fail on '$name' (exit $got)"
  }
  echo "negative control: $(grep "$name" "$WORK/control.log")"
}
controls=0
control "extra field 'lora_rank'" "$WORK/default.json" 'model["config"]["layers"][7]["config"]["lora_rank"] = None'
control "missing field 'filters'" "$WORK/default.json" 'del model["config"]["layers"][1]["config"]["filters"]'
control "missing field 'name'" "$WORK/default.json" 'del model["config"]["name"]'
control "extra field 'groups'" "$WORK/small_separable.json" 'model["config"]["layers"][2]["config"]["groups"] = 1'
control "missing field 'depth_multiplier'" "$WORK/small_separable.json" 'del model["config"]["layers"][4]["config"]["depth_multiplier"]'
control "extra field 'batch_shape'" "$WORK/wide5x5.json" 'model["config"]["layers"][0]["config"]["batch_shape"] = [None, 28, 28, 1]'
control "missing field 'inbound_nodes'" "$WORK/small_residual.json" 'del model["config"]["layers"][7]["inbound_nodes"]'
control "missing field 'output_layers'" "${checkpoints[3]}" 'del model["config"]["output_layers"]'
control "is not \[an earlier layer, 0, 0, {}\]" "$WORK/small_residual.json" 'model["config"]["layers"][7]["inbound_nodes"][0][1][1] = 1'
control "extra field 'is_legacy_optimizer'" "${checkpoints[0]}" 'training["optimizer_config"]["config"]["is_legacy_optimizer"] = False'
control "missing field 'loss_weights'" "${checkpoints[1]}" 'del training["loss_weights"]'
control "extra field 'fn'" "${checkpoints[1]}" 'training["loss"]["config"]["fn"] = "categorical_crossentropy"'
echo "1 passed, 0 failed"
