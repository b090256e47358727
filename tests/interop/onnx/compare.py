"""One comparison for the ONNX interoperability tests: a runtime's two outputs (float32 .npy,
(N, classes)) against ours to an absolute tolerance, and its accuracy on the labelled images
against --evaluate's (printed with 4 decimals). Exit 0: they match; 10: they differ (the line
says how); anything else: an error. Usage: compare.py THEIR_OUTPUT.npy THEIR_LOGITS.npy
OUR_OUTPUT.npy OUR_LOGITS.npy LABELS.idx[.gz] ACCURACY TOLERANCE"""
import gzip
import sys

import numpy as np

their_output, their_logits, our_output, our_logits, labels_path, accuracy, tolerance = sys.argv[1:]
opener = gzip.open if open(labels_path, "rb").read(2) == b"\x1f\x8b" else open
with opener(labels_path, "rb") as f:
    raw = f.read()
assert int.from_bytes(raw[:4], "big") == 0x801, f"{labels_path}: not an IDX labels file"
labels = np.frombuffer(raw, dtype=np.uint8, offset=8)

ours = {"output": np.load(our_output), "logits": np.load(our_logits)}
theirs = {"output": np.load(their_output), "logits": np.load(their_logits)}
for name, ref in ours.items():
    assert ref.dtype == np.float32 and ref.shape == (labels.size, ref.shape[1]), f"our {name}: {ref.dtype} {ref.shape}"
    assert theirs[name].shape == ref.shape, f"their {name} has shape {theirs[name].shape}, ours {ref.shape}"
diff = {name: float(np.max(np.abs(theirs[name].astype(np.float64) - ours[name]))) for name in ours}
predicted = np.argmax(theirs["output"], axis=1)
their_accuracy = f"{np.mean(predicted == labels):.4f}"
changed = int(np.sum(predicted != np.argmax(ours["output"], axis=1)))
match = all(d <= float(tolerance) for d in diff.values()) and their_accuracy == accuracy
print(f"max |output - ours| {diff['output']:.3g}, max |logits - ours| {diff['logits']:.3g} (tolerance {tolerance}), "
      f"accuracy {their_accuracy} (--evaluate {accuracy}), {changed} predictions differ: "
      f"{'match' if match else 'DIFFERENT'}")
sys.exit(0 if match else 10)
