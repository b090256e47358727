# Bad model JSONs (--model): every rank exits 2, rank 0 names the file, the layer, the field and
# the value once, within 10 s, before any data is read; the checkpoint in the out-dir is untouched.
# The bad files are the tutorial's Keras 2 JSON with one change each (two insert augmentation
# layers). --print-model prints the model in use (the default or --model's) once, indented, and exits 0.
source "$(dirname "$0")/lib.sh"
make_base
args=("${SMALL[@]}" --batch-size 16 --epochs 1)
TUTORIAL=$FIXTURES/models/tutorial_keras2.json

# edit NAME PYTHON: writes WORK/NAME.json, the tutorial's JSON after PYTHON ran on `doc` (and
# `layers`, its layer list); prints the path.
edit() {
  "$PYTHON" - "$TUTORIAL" "$WORK/$1.json" "$2" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
layers = doc["config"]["layers"]
exec(sys.argv[3])
open(sys.argv[2], "w").write(json.dumps(doc, indent=1))
PY
  echo "$WORK/$1.json"
}
model() {  # model NAME REGEX FILE: one bad --model on 2 ranks
  check_later "$1" 2 "$2" 2 "${args[@]}" --out-dir "$(seeded_out "$1")" --model "$3"
}

model dilation "dilation.json: layer 3 'conv2d_1' \(Conv2D\): field 'dilation_rate': \[2, 2\] is not supported with strides \[2, 2\]" \
  "$(edit dilation 'layers[3]["config"]["dilation_rate"] = [2, 2]; layers[3]["config"]["strides"] = [2, 2]')"
model unknown_layer "unknown_layer.json: layer 2 'max_pooling2d' \(LSTM\): field 'class_name': \"LSTM\" is not supported" \
  "$(edit unknown_layer 'layers[2]["class_name"] = "LSTM"')"
model missing_field "missing_field.json: layer 7 'dense' \(Dense\): field 'units': missing" \
  "$(edit missing_field 'del layers[7]["config"]["units"]')"
model wrong_type "wrong_type.json: layer 1 'conv2d' \(Conv2D\): field 'filters': \"32\" is not an integer" \
  "$(edit wrong_type 'layers[1]["config"]["filters"] = "32"')"
model kernel_larger_than_input "layer 5 'conv2d_2' \(Conv2D\): field 'kernel_size': \[7, 7\] is larger than the input \(5, 5, 64\)" \
  "$(edit kernel_larger_than_input 'layers[5]["config"]["kernel_size"] = [7, 7]')"
model softmax_in_the_middle "layer 7 'dense' \(Dense\): field 'activation': \"softmax\" is only supported on the last layer" \
  "$(edit softmax_in_the_middle 'layers[7]["config"]["activation"] = "softmax"')"
model channels_first "layer 1 'conv2d' \(Conv2D\): field 'data_format': \"channels_first\" is not supported" \
  "$(edit channels_first 'layers[1]["config"]["data_format"] = "channels_first"')"
model input_shape "layer 0 'conv2d_input' \(InputLayer\): input shape \(32, 32, 3\) does not match the data's \(28, 28, 1\)" \
  "$(edit input_shape 'layers[0]["config"]["batch_input_shape"] = [None, 32, 32, 3]')"
model classes "layer 8 'dense_1' \(Dense\): field 'units': 12 does not match the data's 10 classes" \
  "$(edit classes 'layers[8]["config"]["units"] = 12')"
model ten_thousand_layers "ten_thousand_layers.json: 10000 layers is more than the limit of 256" \
  "$(edit ten_thousand_layers 'layers[7:7] = [{"class_name": "Dropout", "config": {"rate": 0.1}}] * 9991')"
model augment_after_dense "layer 8 'shift' \(RandomTranslation\): field 'height_factor': \[-0.1, 0.1\] needs an input of \(height, width, channels\), but the input is \(64,\)" \
  "$(edit augment_after_dense 'layers[8:8] = [{"class_name": "RandomTranslation", "config": {"name": "shift", "height_factor": 0.1, "width_factor": 0.1}}]')"
model flip_mode "layer 1 'flip' \(RandomFlip\): field 'mode': \"diagonal\" is not supported \(horizontal, vertical, horizontal_and_vertical\)" \
  "$(edit flip_mode 'layers[1:1] = [{"class_name": "RandomFlip", "config": {"name": "flip", "mode": "diagonal"}}]')"
printf '{"class_name": "Sequential",\n "config": {"layers": [}\n}\n' >"$WORK/malformed.json"
model malformed_json "malformed.json: line 2, column 24: malformed JSON" "$WORK/malformed.json"
model missing_file "--model $WORK/none.json: cannot open \(no such file\)" "$WORK/none.json"

# Bad Functional JSONs, batched in one case: tests/fixtures/models/small_residual.json with one
# change each; on 2 ranks each exits 2 with one message naming the layer (its position in
# config.layers) and the field.
RESIDUAL=$FIXTURES/models/small_residual.json
bad_graph() {  # bad_graph NAME PYTHON REGEX: PYTHON edits `layers` (and `doc`) of the residual model
  local file=$WORK/$1.json
  "$PYTHON" - "$RESIDUAL" "$file" "$2" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
layers = doc["config"]["layers"]
exec(sys.argv[3])
open(sys.argv[2], "w").write(json.dumps(doc, indent=1))
PY
  expect_exit 2 "$WORK/$1.log" mpi 2 "${args[@]}" --out-dir "$WORK/$1" --model "$file"
  single_error "$WORK/$1.log"
  expect_text "$WORK/$1.log" "$1.json: $3"
  echo "  $1: $(grep -m1 'error: ' "$WORK/$1.log" | cut -c1-200)"
}
graphs() {
  bad_graph cycle 'layers[3]["inbound_nodes"] = [[["conv2d_2", 0, 0, {}]]]' \
    "layer 6 'conv2d_2' \(Conv2D\): field 'inbound_nodes': 'conv2d_2' <- 'activation' <- .* <- 'conv2d_2' is a cycle"
  bad_graph two_inputs 'layers.insert(1, dict(layers[0], name="input_2", config=dict(layers[0]["config"], name="input_2")))' \
    "layer 1 'input_2' \(InputLayer\): field 'class_name': \"InputLayer\" is not supported a second time"
  bad_graph unknown_inbound 'layers[7]["inbound_nodes"][0][1][0] = "conv2d_9"' \
    "layer 7 'add' \(Add\): field 'inbound_nodes': 'conv2d_9' is not a layer of the model"
  bad_graph mismatched_merge 'layers[6]["config"]["filters"] = 16' \
    "layer 7 'add' \(Add\): field 'inbound_nodes': \(14, 14, 8\), \(14, 14, 16\) are incompatible shapes"
  bad_graph called_twice 'layers[9]["inbound_nodes"].append([["conv2d", 0, 0, {}]])' \
    "layer 9 'conv2d_3' \(Conv2D\): field 'inbound_nodes': .* is not supported \(the layer is called 2 times: a shared layer"
}
case_ functional_graphs graphs

# --print-model: the JSON once (rank 0), of the default model or of --model's.
print_model() {
  expect_exit 0 "$WORK/print.log" mpi 2 --print-model
  # Indented (issue 16): one document, printed once.
  [ "$(grep -c '^  "class_name": "Sequential"' "$WORK/print.log")" -eq 1 ] || { cat "$WORK/print.log" >&2; fail "not one JSON document"; }
  "$PYTHON" -c 'import json, sys; json.load(open(sys.argv[1]))' "$WORK/print.log" || fail "--print-model is not one JSON document"
  grep -q '"name": "dense_1"' "$WORK/print.log" || fail "the default model's JSON lacks dense_1"
  expect_exit 0 "$WORK/print_small.log" mpi 2 --print-model --model "$FIXTURES/models/small_dropout.json"
  grep -q '"name": "small_dropout"' "$WORK/print_small.log" || fail "--model's JSON is not printed"
}
case_ print_model print_model
run_queued
summary
