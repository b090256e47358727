# The augmentation layers keep the promises of N-invariance and exact resume: a model with
# RandomFlip + RandomTranslation first, a RandomRotation after a Conv2D, Dropout and a RandomZoom
# (tests/fixtures/models/small_augment.json) trained from one seed with N = 1, 2 and 3 ranks, and
# stopped and resumed on 2 ranks, ends with the same weight bytes. Controls: the augmentations
# really act (the model without them gives other weights), and the comparison can fail (another seed).
source "$(dirname "$0")/lib.sh"
model=$FIXTURES/models/small_augment.json
run=("${SMALL[@]}" --model "$model" --batch-size 64 --micro-batch 16 --seed 3)
same_over_ranks 1 2 3

# Stopped after step 2 (inside epoch 1) and resumed on 2 ranks: the same bytes as never stopped.
resume_same_as "$WORK/np1/checkpoint.h5"

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
weights_differ "$WORK/np1/checkpoint.h5" plain other_seed
echo "2 passed, 0 failed"
