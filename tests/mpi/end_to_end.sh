# A whole small run on real images: the loss falls, every output file is there and sound,
# the last line holds the test figures, and fmnist_inspect reads it all back.
source "$(dirname "$0")/lib.sh"
expect_exit 0 "$WORK/run.log" mpi 2 "${SMALL[@]}" --batch-size 32 --epochs 6 --out-dir "$WORK/run"
expect_text "$WORK/run.log" "^Epoch 6/6 - 7 steps - [0-9.]+s - loss: [0-9.]+ - accuracy: [0-9.]+ - val_loss: [0-9.]+ - val_accuracy: [0-9.]+$"
tail -n 1 "$WORK/run.log" | grep -Eq "^test_loss: [0-9]+\.[0-9]{4} - test_accuracy: 0\.[0-9]{4}$" ||
  fail "the last line is not the test figures: $(tail -n 1 "$WORK/run.log")"
for f in checkpoint.h5 best.h5 history.csv learning_curve.svg; do
  [ -s "$WORK/run/$f" ] || fail "missing $f"
done
head -n 1 "$WORK/run/history.csv" | grep -qx "epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds,run_id" || fail "history.csv header"
id=$(grep -Eo "^Run [0-9a-f]{32} starts" "$WORK/run.log" | cut -d' ' -f2)
[ -n "$id" ] && [ "$(tail -n +2 "$WORK/run/history.csv" | cut -d, -f8 | sort -u)" = "$id" ] ||
  fail "history.csv's run_id column is not the run's ($id)"
[ "$(wc -l <"$WORK/run/history.csv")" -eq 7 ] || fail "history.csv should have 6 epochs"
first=$(sed -n 2p "$WORK/run/history.csv" | cut -d, -f2)
last=$(sed -n 7p "$WORK/run/history.csv" | cut -d, -f2)
awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < 0.8 * a) }' || fail "the loss did not fall: $first -> $last"
verified "$WORK/run/checkpoint.h5"
verified "$WORK/run/best.h5"
"$INSPECT" "$WORK/run/checkpoint.h5" >"$WORK/inspect.log"
# The parameter count as the model's plan gives it (its one golden value is in test_nn_model.cpp),
# the same in the trainer's summary and in fmnist_inspect's.
total=$("$INSPECT" "$WORK/run/checkpoint.h5" --json | /usr/bin/python3 -c \
  'import json, sys; m = json.load(sys.stdin)["model"]; print(format(sum(l["params"] for l in m["layers"]), ","))')
expect_text "$WORK/run.log" "^Total params: $total$"
expect_text "$WORK/inspect.log" "^Total params: $total$"
expect_text "$WORK/inspect.log" "History \(6 epochs\)"
expect_text "$WORK/inspect.log" "test_accuracy"
grep -q "<svg" "$WORK/run/learning_curve.svg" || fail "learning_curve.svg is not SVG"
echo "1 passed, 0 failed"
