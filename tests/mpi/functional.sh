# Functional models keep the promises of N-invariance and exact resume: a small residual model
# (tests/fixtures/models/small_residual.json: a tensor taken by three layers, an Add, a
# Concatenate, BatchNormalization inside the residual branch, Dropout) trained from one seed on 1,
# 2 and 3 ranks ends with the same weight bytes, and stopped and resumed on 2 ranks equals the
# uninterrupted run. A Sequential model and the same chain written as a Functional one train to
# the same bytes (small_bn: BatchNormalization; small_augment: Dropout and augmentation, whose
# draws follow the layer's index). Controls: another seed, and the residual model with its Add
# made a Subtract, give other weights.
source "$(dirname "$0")/lib.sh"
model=$FIXTURES/models/small_residual.json
run=("${SMALL[@]}" --model "$model" --batch-size 64 --micro-batch 16 --seed 3)
same_over_ranks 1 2 3
expect_text "$WORK/np1.log" "Total params: 7,206"
expect_text "$WORK/np1.log" "add \(Add\) +\(None, 14, 14, 8\) +0 +\['max_pooling2d\[0\]\[0\]',"
grep -q "batch_normalization/moving_variance:0 .*0.000e+00 ok" "$WORK/compare.log" || {
  cat "$WORK/compare.log" >&2
  fail "the comparison did not cover the moving statistics"
}

# Stopped after step 2 (inside epoch 1) and resumed on 2 ranks: the same bytes as never stopped.
resume_same_as "$WORK/np1/checkpoint.h5"

# Controls: another seed; the Add made a Subtract (the same weights' shapes, another function).
expect_exit 0 "$WORK/c.log" mpi 1 "${run[@]}" --seed 4 --max-steps 6 --out-dir "$WORK/other_seed"
/usr/bin/python3 - "$model" "$WORK/subtract.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
add = [l for l in doc["config"]["layers"] if l["class_name"] == "Add"][0]
add["class_name"] = "Subtract"
json.dump(doc, open(sys.argv[2], "w"))
PY
expect_exit 0 "$WORK/s.log" mpi 1 "${SMALL[@]}" --model "$WORK/subtract.json" --batch-size 64 --micro-batch 16 --seed 3 \
  --max-steps 6 --out-dir "$WORK/subtract"
weights_differ "$WORK/np1/checkpoint.h5" other_seed subtract

# Sequential against the same chain as a Functional model (Keras 2's form, written here from the
# Sequential JSON): the same bytes, on 2 ranks; the Functional checkpoint keeps its form.
for m in small_bn small_augment; do
  /usr/bin/python3 - "$FIXTURES/models/$m.json" "$WORK/${m}_chain.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
layers = doc["config"]["layers"]
if layers[0]["class_name"] != "InputLayer":
    layers.insert(0, {"class_name": "InputLayer", "config": {"name": "input_1", "batch_input_shape": [None, 28, 28, 1]}})
for i, l in enumerate(layers):
    l["name"] = l["config"]["name"]
    l["inbound_nodes"] = [[[layers[i - 1]["config"]["name"], 0, 0, {}]]] if i else []
doc["class_name"] = "Functional"
doc["config"]["input_layers"] = [[layers[0]["name"], 0, 0]]
doc["config"]["output_layers"] = [[layers[-1]["name"], 0, 0]]
json.dump(doc, open(sys.argv[2], "w"))
PY
  for form in "$m" "${m}_chain"; do
    file=$FIXTURES/models/$m.json
    [ "$form" = "$m" ] || file=$WORK/$form.json
    expect_exit 0 "$WORK/$form.log" mpi 2 "${SMALL[@]}" --model "$file" --batch-size 64 --micro-batch 16 --seed 3 \
      --max-steps 4 --out-dir "$WORK/$form"
  done
  same_weights "$WORK/$m/checkpoint.h5" "$WORK/${m}_chain/checkpoint.h5" 0
  /usr/bin/python3 - "$WORK/${m}_chain/checkpoint.h5" <<'PY' || fail "the checkpoint of ${m}_chain is not Functional"
import h5py, json, sys
with h5py.File(sys.argv[1], "r") as f:
    config = json.loads(f.attrs["model_config"])
    names = [n.decode() if isinstance(n, bytes) else n for n in f["model_weights"].attrs["layer_names"]]
assert config["class_name"] == "Functional", config["class_name"]
assert config["config"]["layers"][0]["class_name"] == "InputLayer"
assert names[0] == config["config"]["layers"][0]["name"], names  # Keras's model.layers: the InputLayer first
PY
done
echo "3 passed, 0 failed"
