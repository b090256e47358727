# Bad checkpoints and output: every rank exits 4, rank 0 names the file and what is wrong (or
# what differs) once, within 10 s, and the checkpoint.h5 already in the out-dir still verifies,
# unchanged. Damaged copies are made with Debian's python3-h5py.
source "$(dirname "$0")/lib.sh"
make_base
run=("${SMALL[@]}" --batch-size 16 --epochs 2)
bad() {  # bad NAME REGEX OPTIONS...: one run on 2 ranks that must exit 4
  local name=$1 regex=$2
  shift 2
  check_later "$name" 4 "$regex" 2 "${run[@]}" --out-dir "$(seeded_out "$name")" "$@"
}

# flip FILE DATASET: flips one bit in the middle of the stored bytes of DATASET (its first chunk).
flip() {
  "$PYTHON" - "$1" "$2" <<'PY'
import sys, h5py
path, name = sys.argv[1], sys.argv[2]
with h5py.File(path, "r") as f:
    chunk = f[name].id.get_chunk_info(0)
    offset = chunk.byte_offset + chunk.size // 2
with open(path, "r+b") as f:
    f.seek(offset)
    byte = f.read(1)[0]
    f.seek(offset)
    f.write(bytes([byte ^ 0x10]))
PY
}
# reshape FILE DATASET DIMS...: replaces DATASET by zeros of another shape, stored as ours are.
reshape() {
  "$PYTHON" - "$@" <<'PY'
import sys, h5py, numpy as np
path, name, shape = sys.argv[1], sys.argv[2], tuple(int(d) for d in sys.argv[3:])
with h5py.File(path, "r+") as f:
    del f[name]
    f.create_dataset(name, data=np.zeros(shape, np.float32), chunks=shape, fletcher32=True)
PY
}

bad resume_missing "$WORK/none.h5: no such file" --resume "$WORK/none.h5"
bad resume_folder "$WORK/base: is a folder, not a checkpoint file" --resume "$WORK/base"

head -c 400000 "$BASE" >"$WORK/truncated.h5"
bad truncated "truncated.h5: cannot open as HDF5.*truncated file" --resume "$WORK/truncated.h5"

: >"$WORK/empty.h5"
bad empty "empty.h5: .*(not an HDF5|cannot open as HDF5|empty)" --resume "$WORK/empty.h5"

cp "$BASE" "$WORK/flipped_weights.h5" && flip "$WORK/flipped_weights.h5" "/model_weights/dense/dense/kernel:0"
bad flipped_byte_weights "flipped_weights.h5: dataset /model_weights/dense/dense/kernel:0: checksum mismatch" \
  --resume "$WORK/flipped_weights.h5"

cp "$BASE" "$WORK/flipped_slot.h5" && flip "$WORK/flipped_slot.h5" "/optimizer/velocity"
bad flipped_byte_optimizer "flipped_slot.h5: dataset /optimizer/velocity: checksum mismatch" \
  --resume "$WORK/flipped_slot.h5"

cp "$BASE" "$WORK/arch.h5" && reshape "$WORK/arch.h5" "/model_weights/dense/dense/kernel:0" 576 32
bad other_architecture "arch.h5: dataset /model_weights/dense/dense/kernel:0: shape \(576, 32\), expected \(576, 64\)" \
  --resume "$WORK/arch.h5"

cp "$BASE" "$WORK/arch_conv.h5" && reshape "$WORK/arch_conv.h5" "/model_weights/conv2d/conv2d/kernel:0" 5 5 1 32
bad other_architecture_conv "arch_conv.h5: dataset /model_weights/conv2d/conv2d/kernel:0: shape \(5, 5, 1, 32\), expected \(3, 3, 1, 32\)" \
  --resume "$WORK/arch_conv.h5"

bad other_batch_size "batch_size is 16 in the checkpoint but 32 in this run \(--batch-size\)" --resume "$BASE" --batch-size 32
bad other_val_split "val_split is 0.3 in the checkpoint but 0.2 in this run \(--val-split\)" --resume "$BASE" --val-split 0.2
bad other_split_seed "split_seed is 42 in the checkpoint but 7 in this run \(--split-seed\)" --resume "$BASE" --split-seed 7
bad other_optimizer "optimizer is rmsprop in the checkpoint but adam in this run \(--optimizer\)" --resume "$BASE" --optimizer adam
bad other_rmsprop_form "rmsprop_form is keras2 in the checkpoint but keras3 in this run \(--rmsprop-form\)" \
  --resume "$BASE" --rmsprop-form keras3

# Another architecture (--model): the first layer that differs is named.
"$PYTHON" - "$FIXTURES/models/tutorial_keras2.json" "$WORK/narrow.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
doc["config"]["layers"][3]["config"]["filters"] = 48
json.dump(doc, open(sys.argv[2], "w"))
PY
bad other_model "base/checkpoint.h5: incompatible checkpoint: another model: layer 3 'conv2d_1' \(Conv2D\) is Conv2D 64 .* in .*base/checkpoint.h5 but Conv2D 48 .* in .*narrow.json" \
  --resume "$BASE" --model "$WORK/narrow.json"

# A checkpoint from before models were data (no model_config, no rmsprop_form, no fmnist_dist_version)
# holds the tutorial's model trained with the then-default Keras 3 form of RMSprop: it resumes with that form.
cp "$BASE" "$WORK/old.h5"
"$PYTHON" - "$WORK/old.h5" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r+") as f:
    del f.attrs["model_config"], f.attrs["training_config"], f["training"].attrs["rmsprop_form"]
    del f.attrs["fmnist_dist_version"], f.attrs["fmnist_dist_commit"]
PY
bad old_checkpoint_form "old.h5: incompatible checkpoint: rmsprop_form is keras3 in the checkpoint but keras2 in this run" \
  --resume "$WORK/old.h5"
check_later old_checkpoint_resumes 0 "Resumed at epoch 1, step 3 of the epoch" 2 "${run[@]}" --out-dir "$WORK/old_resumes" \
  --resume "$WORK/old.h5" --rmsprop-form keras3

# --resume auto reads the out-dir's own checkpoint: a mismatch there is refused and the file kept.
check_later auto_other_batch_size 4 "checkpoint.h5: incompatible checkpoint: batch_size is 16 in the checkpoint but 8" 2 \
  "${SMALL[@]}" --batch-size 8 --epochs 2 --out-dir "$(seeded_out auto_other_batch_size)" --resume auto

# Unwritable output: a folder under a regular file (root ignores permission bits).
touch "$WORK/a_file"
check_later out_dir_under_file 4 "--out-dir $WORK/a_file/run: cannot create the folder" 2 \
  "${SMALL[@]}" --batch-size 16 --epochs 1 --out-dir "$WORK/a_file/run"
check_later out_dir_is_file 4 "--out-dir $WORK/a_file: .*(not a folder|Not a directory|exists)" 2 \
  "${SMALL[@]}" --batch-size 16 --epochs 1 --out-dir "$WORK/a_file"

# A full disk: a 200 KB file-size limit on the ranks (a checkpoint is about 800 KB), set after
# mpirun (whose shared memory needs more). The first checkpoint of the resumed run fails: rank 0
# reports it and aborts the job with code 4; the previous checkpoint.h5 is kept and verifies.
# (trap '' XFSZ: MPI_Init's shared-memory files would hit the limit before fmnist_dist ignores
# SIGXFSZ; btl self,tcp then keeps Open MPI from warning about it.)
full_disk() {
  local out
  out=$(seeded_out full_disk)
  ABORT=1 RANK_PRELUDE="trap '' XFSZ; ulimit -f 200" OMPI_MCA_btl=self,tcp run_case full_disk 4 \
    "rank 0: error: .*checkpoint\.h5.*(File too large|No space left)" 2 \
    "${SMALL[@]}" --batch-size 16 --epochs 2 --checkpoint-every 1 --resume auto --out-dir "$out"
  [ -z "$(find "$out" -name '*.tmp*')" ] || fail "a temporary file was left in $out"
}
run_queued
case_ full_disk full_disk
summary
