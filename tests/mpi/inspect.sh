# fmnist_inspect on a real run: --help lists every exit code, --json parses with the documented
# keys and types, best.h5 says which epoch it holds (the lowest val_loss) and how to get its test
# figures, --compare answers 0 (same) or 1 (differ), the learning curve marks best.h5's epoch, and
# a picture name of the wrong kind is refused with exit 2 naming the option.
source "$(dirname "$0")/lib.sh"
PYTHON=/usr/bin/python3
expect_exit 0 "$WORK/run.log" mpi 1 "${SMALL[@]}" --batch-size 32 --epochs 4 --out-dir "$WORK/run"
expect_exit 0 "$WORK/short.log" mpi 1 "${SMALL[@]}" --batch-size 32 --epochs 4 --max-steps 3 --out-dir "$WORK/short"
CKPT=$WORK/run/checkpoint.h5
BEST=$WORK/run/best.h5

expect_exit 0 "$WORK/help.log" "$INSPECT" --help
for code in "  0  done" "  1  --compare: the checkpoints differ" "  2  bad command line" "  3  bad or missing input data" \
  "  4  bad, corrupt or incompatible checkpoint" "largest \|a - b\| over the largest \|a\|"; do
  expect_text "$WORK/help.log" "$code"
done

# --json: the schema of src/inspect_main.cpp's header, checked key by key against the run.
expect_exit 0 "$WORK/ckpt.json" "$INSPECT" "$CKPT" --json --verify
expect_exit 0 "$WORK/best.json" "$INSPECT" "$BEST" --json
best_epoch=$("$PYTHON" - "$WORK/ckpt.json" "$WORK/best.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
b = json.load(open(sys.argv[2]))
assert list(c) == ["file", "written_by", "model", "training", "optimizer", "history", "best_epoch", "evaluation",
                   "verified_datasets"], list(c)
assert set(c["written_by"]) == {"version", "commit"} and c["written_by"]["version"].count(".") == 2, c["written_by"]
m = c["model"]
assert m["total_params"] == sum(l["params"] for l in m["layers"]) == sum(t["size"] for t in m["tensors"])
assert m["layers"][0] == {"name": "conv2d", "type": "Conv2D", "output_shape": [26, 26, 32], "params": 320}, m["layers"][0]
assert m["tensors"][0] == {"name": "conv2d/kernel:0", "shape": [3, 3, 1, 32], "size": 288}, m["tensors"][0]
t = c["training"]
for key in ["epoch", "step", "step_in_epoch", "world_size", "batch_size", "epochs", "seed", "split_seed", "num_train",
            "data_fingerprint", "epoch_correct", "epoch_samples"]:
    assert type(t[key]) is int, key
for key in ["val_split", "lr", "epoch_loss_sum", "epoch_seconds", "best_val_loss"]:
    assert type(t[key]) in (int, float), key
assert t["epoch"] == t["epochs"] == 4 and t["optimizer"] == "rmsprop", t
assert c["optimizer"] == {"name": "rmsprop", "iterations": t["step"], "slots": ["velocity"]}, c["optimizer"]
h = c["history"]
assert all(len(h[k]) == 4 for k in ["loss", "accuracy", "val_loss", "val_accuracy", "seconds"]), h
best = min(range(4), key=lambda e: (h["val_loss"][e], e)) + 1
assert c["best_epoch"] == best, (c["best_epoch"], best)
assert set(c["evaluation"]) == {"test_loss", "test_accuracy"}
assert c["verified_datasets"] > 10
assert b["evaluation"] is None and b["best_epoch"] == best == len(b["history"]["loss"]), b
assert b["history"]["val_loss"] == h["val_loss"][:best]
print(best)
PY
) || fail "the --json output does not match its schema"

expect_exit 0 "$WORK/best.log" "$INSPECT" "$BEST"
expect_text "$WORK/best.log" "Evaluation: none in this file. It holds the weights after epoch $best_epoch of 4, the epoch with the"
expect_text "$WORK/best.log" "For the test figures of these weights: fmnist_inspect $BEST --evaluate"
expect_exit 0 "$WORK/ckpt.log" "$INSPECT" "$CKPT"
expect_text "$WORK/ckpt.log" "^  test_loss: [0-9.]+ - test_accuracy: [0-9.]+$"

expect_exit 0 "$WORK/same.log" "$INSPECT" "$CKPT" --compare "$CKPT"
expect_text "$WORK/same.log" "Same within the tolerance"
expect_exit 1 "$WORK/differ.log" "$INSPECT" "$CKPT" --compare "$WORK/short/checkpoint.h5" --tolerance 1e-3
expect_text "$WORK/differ.log" "steps: 28 against 3 DIFFERS"
expect_exit 4 "$WORK/missing.log" "$INSPECT" "$CKPT" --compare "$WORK/absent.h5"

expect_exit 0 "$WORK/plot.log" "$INSPECT" "$CKPT" --plot "$WORK/curve.svg"
[ "$(grep -c 'class="best"' "$WORK/curve.svg")" -eq 2 ] || fail "the learning curve does not mark best.h5's epoch"
expect_text "$WORK/curve.svg" "best.h5: epoch $best_epoch \(lowest val_loss\)"

expect_exit 2 "$WORK/png.log" "$INSPECT" "$CKPT" --evaluate --data-dir "$FIXTURES/idx" --plot-confusion "$WORK/c.png"
expect_text "$WORK/png.log" "^fmnist_inspect: --plot-confusion .*c\.png: the file name must end in \.svg$"
[ ! -e "$WORK/c.png" ] || fail "a refused --plot-confusion still wrote its file"
echo "1 passed, 0 failed"
