# Validate, then broadcast: a checkpoint whose /optimizer does not hold exactly the slots of this
# run's optimizer (two slots for RMSprop, its slot missing, a slot of the wrong length) is refused on
# 2 and 3 ranks alike: every rank exits 4, rank 0 names the file and the slot once, and no MPI
# error (MPI_ERR_TRUNCATE, an abort) comes first, because rank 0 checks the whole file before it
# sends anything.
source "$(dirname "$0")/lib.sh"
make_base
run=("${SMALL[@]}" --batch-size 16 --epochs 2)

# damage NAME PYTHON: a copy of the base checkpoint at $WORK/NAME.h5, changed by the h5py code
# PYTHON (f: the open file, v: the velocity slot's values).
damage() {
  cp "$BASE" "$WORK/$1.h5"
  "$PYTHON" - "$WORK/$1.h5" "$2" <<'PY'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r+") as f:
    v = f["optimizer/velocity"][()]
    exec(sys.argv[2])
PY
}
damage two_slots '
f.create_dataset("optimizer/momentum", data=v, chunks=v.shape, fletcher32=True)
f["optimizer"].attrs["slots"] = np.array([b"velocity", b"momentum"])'
damage renamed_slot '
del f["optimizer/velocity"]
f.create_dataset("optimizer/momentum", data=v, chunks=v.shape, fletcher32=True)
f["optimizer"].attrs["slots"] = np.array([b"momentum"])'
damage short_slot '
del f["optimizer/velocity"]
f.create_dataset("optimizer/velocity", data=v[:100], chunks=(100,), fletcher32=True)'

for np in 2 3; do
  check "two_slots_np$np" 4 "two_slots.h5: incompatible checkpoint: /optimizer: unexpected slot 'momentum'" "$np" \
    "${run[@]}" --out-dir "$WORK/two_slots_np$np" --resume "$WORK/two_slots.h5"
  check "missing_slot_np$np" 4 "renamed_slot.h5: incompatible checkpoint: /optimizer: slot 'velocity' of rmsprop is missing" \
    "$np" "${run[@]}" --out-dir "$WORK/missing_slot_np$np" --resume "$WORK/renamed_slot.h5"
  check "short_slot_np$np" 4 "short_slot.h5: dataset /optimizer/velocity: shape \(100,\), expected \(" "$np" \
    "${run[@]}" --out-dir "$WORK/short_slot_np$np" --resume "$WORK/short_slot.h5"
done
for log in "$WORK"/*_np[23]*.log; do
  ! grep -q "MPI_ERR\|MPI_ABORT\|truncat" "$log" || { cat "$log" >&2; fail "an MPI error in $log"; }
done
summary
