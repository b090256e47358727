# Keras's callbacks in a real run (docs/training.md): a run with ReduceLROnPlateau and EarlyStopping,
# stopped before a learning-rate drop and before the early stop and resumed (on 2, then 1, then 2
# ranks), ends with the uninterrupted run's bytes, history (lr included), best epoch and test figures;
# 1 and 2 ranks give the same bytes; the restored weights are best.h5's; bad values exit 2.
source "$(dirname "$0")/lib.sh"
# 14 steps per epoch; with these values the rate halves after epochs 4, 6, 10 and 11, EarlyStopping
# stops after epoch 11 and restores epoch 9 (seen in whole.log below, which the test checks).
run=("${SMALL[@]}" --batch-size 16 --micro-batch 8 --epochs 12 --seed 3 --reduce-lr-on-plateau 1
  --reduce-lr-factor 0.5 --early-stopping 2)
history() { cut -d, -f1-6 "$1/history.csv"; }

expect_exit 0 "$WORK/whole.log" mpi 2 "${run[@]}" --out-dir "$WORK/whole"
expect_text "$WORK/whole.log" "^Epoch 4: ReduceLROnPlateau reducing learning rate to 0.0005\.$"
expect_text "$WORK/whole.log" "^Epoch 5/12 .* - lr: 0.0005$"
expect_text "$WORK/whole.log" "^Epoch 11: early stopping$"
expect_text "$WORK/whole.log" "^Restoring model weights from the end of the best epoch: 9\.$"
grep -q "^Epoch 12/12" "$WORK/whole.log" && fail "the run went on after the early stop"
[ "$(sed -n 6p "$WORK/whole/history.csv" | cut -d, -f6)" = 0.0005 ] || fail "history.csv's lr of epoch 5"

# (d) One rank computes what two compute, callbacks included.
expect_exit 0 "$WORK/one.log" mpi 1 "${run[@]}" --out-dir "$WORK/one"
same_weights "$WORK/whole/checkpoint.h5" "$WORK/one/checkpoint.h5" 0

# (a, b) Stopped inside epoch 5 (after the first drop), at the end of the best epoch 9, and at the end
# of epoch 10 (after its drop, before the stop: the best weights come from best.h5), each time resumed
# with --resume auto. At epoch 9 an older best.h5 (epoch 3's) is put back, as a kill between
# checkpoint.h5 and best.h5 leaves it: the checkpoint holds the best weights itself and best.h5 is
# written again.
expect_exit 0 "$WORK/p1.log" mpi 2 "${run[@]}" --out-dir "$WORK/parts" --max-steps 63
cp "$WORK/parts/best.h5" "$WORK/best3.h5"
expect_exit 0 "$WORK/p2.log" mpi 1 "${run[@]}" --out-dir "$WORK/parts" --max-steps 126 --resume auto
expect_text "$WORK/p2.log" "Resumed at epoch 5, step 7 of the epoch"
cp "$WORK/parts/best.h5" "$WORK/best9.h5"
cp "$WORK/best3.h5" "$WORK/parts/best.h5"
expect_exit 0 "$WORK/p2b.log" mpi 2 "${run[@]}" --out-dir "$WORK/parts" --max-steps 140 --resume auto
h5diff "$WORK/parts/best.h5" "$WORK/best9.h5" /model_weights /model_weights >/dev/null ||
  fail "best.h5 after the resume at the end of epoch 9 is not epoch 9's"
expect_exit 0 "$WORK/p3.log" mpi 2 "${run[@]}" --out-dir "$WORK/parts" --resume auto
expect_text "$WORK/p3.log" "^Epoch 11: early stopping$"
expect_text "$WORK/p3.log" "^Restoring model weights from the end of the best epoch: 9\.$"
same_weights "$WORK/whole/checkpoint.h5" "$WORK/parts/checkpoint.h5" 0
[ "$(history "$WORK/whole")" = "$(history "$WORK/parts")" ] || fail "the resumed history differs"
[ "$(tail -n 1 "$WORK/whole.log")" = "$(tail -n 1 "$WORK/p3.log")" ] || fail "the test figures differ"

# (c) The restored weights are best.h5's: the same tensors, hence the same test figures.
h5diff "$WORK/whole/checkpoint.h5" "$WORK/whole/best.h5" /model_weights /model_weights >"$WORK/h5diff.log" 2>&1 ||
  fail "the restored weights differ from best.h5's: $(head -n 5 "$WORK/h5diff.log")"
"$INSPECT" "$WORK/whole/best.h5" --evaluate --data-dir "$FIXTURES/idx" >"$WORK/best.log" 2>&1 || fail "evaluate best.h5"
loss=$(tail -n 1 "$WORK/whole.log" | sed -E 's/^test_loss: ([0-9.]+).*/\1/')
grep -q "$loss" "$WORK/best.log" || fail "best.h5's test loss is not the run's $loss"

# A resume that watches another quantity is refused (the bests are in --monitor's units).
expect_exit 4 "$WORK/monitor.log" mpi 1 "${run[@]}" --out-dir "$WORK/parts" --resume auto --monitor val_accuracy
expect_text "$WORK/monitor.log" "monitor is val_loss in the checkpoint but val_accuracy in this run"

# (e) Bad values: exit 2 naming the option.
bad() {  # bad REGEX OPTIONS...
  local regex=$1
  shift
  expect_exit 2 "$WORK/bad.log" mpi 2 "${SMALL[@]}" --epochs 3 --out-dir "$WORK/bad" "$@"
  expect_text "$WORK/bad.log" "$regex"
}
bad "--monitor: must be loss, accuracy, val_loss or val_accuracy, got 'val_acc'" --monitor val_acc
bad "--early-stopping: the patience must be 0 or more epochs \(-1: off\), got -3" --early-stopping -3
bad "--reduce-lr-factor: must be between 0 and 1 \(exclusive\), got 1.5" --reduce-lr-on-plateau 2 --reduce-lr-factor 1.5
bad "--lr-schedule: must be constant, cosine, exponential or step, got 'linear'" --lr-schedule linear
bad "--warmup-epochs: must be fewer than --epochs" --lr-schedule cosine --warmup-epochs 3
bad "--min-lr: must be a finite number >= 0, got -1" --min-lr -1
echo "callbacks: passed"
