# The augmentation layers keep the promises of N-invariance and exact resume: a model with
# RandomFlip + RandomTranslation first, a RandomRotation after a Conv2D, Dropout and a RandomZoom
# (tests/fixtures/models/small_augment.json) trained from one seed with N = 1, 2 and 3 ranks, and
# stopped and resumed on 2 ranks, ends with the same weight bytes. Controls: the augmentations
# really act (the model without them gives other weights), and the comparison can fail (another seed).
source "$(dirname "$0")/lib.sh"
model=$FIXTURES/models/small_augment.json
run=("${SMALL[@]}" --model "$model" --batch-size 64 --micro-batch 16 --seed 3)
for np in 1 2 3; do
  expect_exit 0 "$WORK/np$np.log" mpi "$np" "${run[@]}" --max-steps 6 --out-dir "$WORK/np$np"
  expect_text "$WORK/np$np.log" "Reached --max-steps 6"
done
same_weights "$WORK/np1/checkpoint.h5" "$WORK/np2/checkpoint.h5" 0
same_weights "$WORK/np1/checkpoint.h5" "$WORK/np3/checkpoint.h5" 0

# Stopped after step 2 (inside epoch 1) and resumed on 2 ranks: the same bytes as never stopped.
expect_exit 0 "$WORK/a.log" mpi 2 "${run[@]}" --max-steps 2 --out-dir "$WORK/parts"
expect_exit 0 "$WORK/b.log" mpi 2 "${run[@]}" --max-steps 6 --out-dir "$WORK/parts" --resume auto
expect_text "$WORK/b.log" "Resumed at epoch 1, step 2 of the epoch"
same_weights "$WORK/np1/checkpoint.h5" "$WORK/parts/checkpoint.h5" 0

# Controls: without the augmentation layers and with another seed the weights differ.
/usr/bin/python3 - "$model" "$WORK/plain.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
doc["config"]["layers"] = [l for l in doc["config"]["layers"] if not l["class_name"].startswith("Random")]
open(sys.argv[2], "w").write(json.dumps(doc))
PY
expect_exit 0 "$WORK/c.log" mpi 1 "${SMALL[@]}" --model "$WORK/plain.json" --batch-size 64 --micro-batch 16 \
  --seed 3 --max-steps 6 --out-dir "$WORK/plain"
expect_exit 0 "$WORK/d.log" mpi 1 "${run[@]}" --seed 4 --max-steps 6 --out-dir "$WORK/other_seed"
for other in plain other_seed; do
  if "$INSPECT" "$WORK/np1/checkpoint.h5" --compare "$WORK/$other/checkpoint.h5" --tolerance 1e-6 >/dev/null 2>&1; then
    fail "$other gave the same weights: the comparison cannot fail"
  fi
done
echo "2 passed, 0 failed"
