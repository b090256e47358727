# Exact resume: a run stopped after arbitrary steps (twice) and resumed with the same number of
# ranks ends with the same weight bytes, optimizer state and history as a run never stopped;
# resumed on another number of ranks too (the allreduce sums are order-independent).
source "$(dirname "$0")/lib.sh"
run=("${SMALL[@]}" --batch-size 32 --epochs 3 --seed 5)   # 7 steps per epoch, 21 in all
history() { cut -d, -f1-5 "$1/history.csv"; }

expect_exit 0 "$WORK/whole.log" mpi 2 "${run[@]}" --out-dir "$WORK/whole"

# Stopped after step 10 (inside epoch 2) and after step 17 (inside epoch 3), resumed each time.
expect_exit 0 "$WORK/a1.log" mpi 2 "${run[@]}" --out-dir "$WORK/parts" --max-steps 10
expect_text "$WORK/a1.log" "Reached --max-steps 10"
expect_exit 0 "$WORK/a2.log" mpi 2 "${run[@]}" --out-dir "$WORK/parts" --max-steps 17 --resume auto
expect_text "$WORK/a2.log" "Resumed at epoch 2, step 3 of the epoch \(10 steps in total\)"
expect_exit 0 "$WORK/a3.log" mpi 2 "${run[@]}" --out-dir "$WORK/parts" --resume auto
expect_text "$WORK/a3.log" "Resumed at epoch 3, step 3 of the epoch"
same_weights "$WORK/whole/checkpoint.h5" "$WORK/parts/checkpoint.h5" 0
[ "$(history "$WORK/whole")" = "$(history "$WORK/parts")" ] || fail "the resumed history differs"
[ "$(tail -n 1 "$WORK/whole.log")" = "$(tail -n 1 "$WORK/a3.log")" ] || fail "the test figures differ"

# The same stop (2 ranks), resumed on 1 and on 3 ranks.
for np in 1 3; do
  expect_exit 0 "$WORK/b$np.log" mpi 2 "${run[@]}" --out-dir "$WORK/np$np" --max-steps 10
  expect_exit 0 "$WORK/c$np.log" mpi "$np" "${run[@]}" --out-dir "$WORK/np$np" --resume auto
  same_weights "$WORK/whole/checkpoint.h5" "$WORK/np$np/checkpoint.h5" 0
done

# --resume FILE works too, and a finished run resumed has nothing left to train.
expect_exit 0 "$WORK/d.log" mpi 1 "${run[@]}" --out-dir "$WORK/again" --resume "$WORK/whole/checkpoint.h5"
expect_text "$WORK/d.log" "Resumed at epoch 4"
[ "$(tail -n 1 "$WORK/whole.log")" = "$(tail -n 1 "$WORK/d.log")" ] || fail "test figures of the resumed finished run"
echo "3 passed, 0 failed"
