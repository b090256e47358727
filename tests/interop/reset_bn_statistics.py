#!/usr/bin/python3
"""The negative control of the interoperability tests for BatchNormalization: sets every moving_mean to 0
and every moving_variance to 1 in /model_weights of a checkpoint, in place, so that a reader or an export
that ignored the trained moving statistics would compute what this file then does.

  reset_bn_statistics.py CHECKPOINT.h5 [COUNT]   fails when nothing was reset, or not exactly COUNT datasets"""
import sys

import h5py

path = sys.argv[1]
changed = []
with h5py.File(path, "r+") as f:
    def visit(name, obj):
        leaf = name.rsplit("/", 1)[-1]
        if isinstance(obj, h5py.Dataset) and leaf.startswith(("moving_mean", "moving_variance")):
            obj[...] = 0.0 if leaf.startswith("moving_mean") else 1.0
            changed.append(name)
    f["model_weights"].visititems(visit)
assert changed, "no moving statistics in /model_weights"
assert len(sys.argv) < 3 or len(changed) == int(sys.argv[2]), changed
print(f"{path}: {len(changed)} moving statistics reset")
