#!/usr/bin/env python3
"""Structure-aware edits of a real checkpoint (tests/fault/checkpoint_fuzz.sh runs them).

Usage: checkpoint_edits.py BASE.h5 OUT_DIR
Writes OUT_DIR/<case>.h5 for every case below and OUT_DIR/cases.tsv, one line per case:
<case> TAB <expected exit: 4, or 0 for a harmless edit> TAB <what was done>.

Every edit goes through h5py, so HDF5 recomputes the Fletcher32 checksums of rewritten datasets
and the checksums of the object headers: the reader must catch each one by its meaning (ranges,
counters that disagree, declared sizes against the file), not by a checksum. The chunk-index
edits damage bytes of the v1 B-tree nodes, which carry no checksum in this file format.
BASE is a checkpoint taken inside the first epoch (1 rank, batch 16, 3 steps of the fixtures).
"""
import os
import random
import shutil
import struct
import sys

import h5py
import numpy as np

BASE, OUT = sys.argv[1], sys.argv[2]
CASES = []
KERNEL = "model_weights/dense/dense/kernel:0"


def case(name, expected, what):
    """Registers a case; the decorated function edits an open h5py File (or, with raw=True, a path)."""
    def register(edit):
        CASES.append((name, expected, what, edit))
        return edit
    return register


def set_attr(f, group, name, value):
    del f[group].attrs[name]
    f[group].attrs[name] = value


def redeclare(f, path, shape, chunks, dtype="f8"):
    """Replaces a dataset by one of another declared shape whose chunks are never written."""
    del f[path]
    f.create_dataset(path, shape=shape, dtype=dtype, chunks=chunks, fletcher32=True)


def training(name, value, what):
    case(name, 4, what)(lambda f: set_attr(f, "training", name.split(":")[0], value))


# ---- Counters of /training: negative, huge, inconsistent ----
training("step_in_epoch:negative", np.int64(-100000000), "step_in_epoch = -100000000")
training("step_in_epoch:end", np.int64(14), "step_in_epoch = 14, one past the epoch's last step")
training("epoch:huge", np.int64(10**12), "epoch = 10^12")
training("epoch:negative", np.int64(-1), "epoch = -1")
training("step:huge", np.int64(2**62), "step = 2^62")
training("epoch_samples:huge", np.int64(2**40), "epoch_samples = 2^40")
training("batch_size:zero", np.int64(0), "batch_size = 0 (the divisor of the steps per epoch)")
training("num_train:negative", np.int64(-5), "num_train = -5")
training("world_size:zero", np.int64(0), "world_size = 0")
training("early_stopping_best_epoch:ahead", np.int64(1000), "early_stopping_best_epoch = 1000 (an index into the history)")
training("epoch:float", np.float64(0.0), "epoch stored as a float64 0.0")
training("epoch:string", "0", "epoch stored as the string '0'")
training("epoch:array", np.array([0, 0], np.int64), "epoch as an array of two values")
training("lr:string", "0.001", "lr stored as a string")
training("optimizer:long", "x" * 20_000_000, "optimizer as a 20 MB string")


@case("iterations:other", 4, "/optimizer iterations = 10^15 (one per step expected)")
def _(f):
    set_attr(f, "optimizer", "iterations", np.int64(10**15))


@case("consistent:huge", 4, "epoch 2^31 with step and iterations to match: the history would need 2^31 values")
def _(f):
    epoch = 2**31
    set_attr(f, "training", "epoch", np.int64(epoch))
    set_attr(f, "training", "step", np.int64(epoch * 14 + 3))
    set_attr(f, "optimizer", "iterations", np.int64(epoch * 14 + 3))
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds"):
        redeclare(f, "history/" + key, (epoch,), (2**20,))


# ---- Declared sizes: huge datasets whose chunks were never written, wrong types and ranks ----
@case("history:unwritten", 4, "/history/loss declared with 2^31 values in chunks never written")
def _(f):
    redeclare(f, "history/loss", (2**31,), (2**20,))


@case("velocity:huge", 4, "/optimizer/velocity declared (2^33,) in unwritten chunks")
def _(f):
    redeclare(f, "optimizer/velocity", (2**33,), (2**20,), "f4")


@case("kernel:int", 4, "a weight tensor rewritten as int32")
def _(f):
    data = f[KERNEL][...]
    del f[KERNEL]
    f.create_dataset(KERNEL, data=data.astype(np.int32), chunks=data.shape, fletcher32=True)


@case("history:rank2", 4, "/history/val_loss as a (1, N) array")
def _(f):
    data = f["history/val_loss"][...]
    del f["history/val_loss"]
    f.create_dataset("history/val_loss", data=data.reshape(1, -1), chunks=(1, max(1, data.size)), maxshape=(1, None),
                     fletcher32=True)


@case("slots:many", 4, "/optimizer slots listing 100000 names")
def _(f):
    set_attr(f, "optimizer", "slots", np.array([b"velocity"] * 100000))


@case("layer_names:many", 4, "/model_weights layer_names with 100000 entries")
def _(f):
    set_attr(f, "model_weights", "layer_names", np.array([b"dense"] * 100000))


@case("model_config:long", 4, "model_config as a 20 MB string")
def _(f):
    f.attrs["model_config"] = "{" + " " * 20_000_000 + "}"


@case("model_config:big_model", 4, "model_config declaring a Dense layer of 16,384 units (9.6 million parameters)")
def _(f):
    text = f.attrs["model_config"]
    text = text.decode() if isinstance(text, bytes) else text
    assert '"units":64' in text, text[:200]
    f.attrs["model_config"] = text.replace('"units":64', '"units":16384').encode()


# ---- Harmless edits: the reader must still accept the file ----
@case("harmless:extra_attribute", 0, "an unknown attribute added to /training")
def _(f):
    f["training"].attrs["note"] = "added by hand"


@case("harmless:rechunked", 0, "/history/loss rewritten by h5py with its own chunking (same values)")
def _(f):
    data = f["history/loss"][...]
    del f["history/loss"]
    f.create_dataset("history/loss", data=data, maxshape=(None,), chunks=(4,), fletcher32=True)


@case("harmless:extra_group", 0, "an extra group /notes with a dataset")
def _(f):
    f.create_dataset("notes/values", data=np.arange(3.0), chunks=(3,), fletcher32=True)


# ---- The chunk index: bytes of the v1 B-tree node of one dataset (no checksum protects them) ----
def btree_node(path, dataset):
    """The file offset of the B-tree node that indexes `dataset`'s one chunk, and the dataset's rank."""
    with h5py.File(path, "r") as f:
        rank = len(f[dataset].shape)
        chunk = f[dataset].id.get_chunk_info(0).byte_offset
    data = open(path, "rb").read()
    key = 4 + 4 + 8 * (rank + 1)
    at = data.find(b"TREE")
    while at >= 0:
        if data[at + 4] == 1 and struct.unpack_from("<Q", data, at + 24 + key)[0] == chunk:
            return at, rank
        at = data.find(b"TREE", at + 1)
    raise SystemExit("no B-tree node found for " + dataset)


def poke(path, at, fmt, value):
    with open(path, "r+b") as out:
        out.seek(at)
        out.write(struct.pack(fmt, value))


def tree_case(name, what, offset_fmt_value):
    def edit(path):
        at, rank = btree_node(path, KERNEL)
        offset, fmt, value = offset_fmt_value(rank, os.path.getsize(path))
        poke(path, at + offset, fmt, value)
    CASES.append((name, 4, what, ("raw", edit)))


tree_case("btree:chunk_size", "the chunk's size in the B-tree key set to 2^31", lambda r, n: (24, "<I", 2**31))
tree_case("btree:chunk_address", "the chunk's address past the end of the file",
          lambda r, n: (24 + 8 + 8 * (r + 1), "<Q", n + 4096))
tree_case("btree:entries", "the node's entry count set to 65535", lambda r, n: (6, "<H", 65535))
tree_case("btree:level", "the node's level set to 3 (its child read as a node)", lambda r, n: (5, "<B", 3))
tree_case("btree:offset", "the chunk's offset in the key set to 2^40", lambda r, n: (24 + 8, "<Q", 2**40))


def random_tree_bytes(seed):
    def edit(path):
        at, rank = btree_node(path, KERNEL)
        rng = random.Random(seed)
        size = 24 + 2 * (8 + 8 * (rank + 1)) + 8
        for _ in range(4):
            poke(path, at + 4 + rng.randrange(size - 4), "<B", rng.randrange(256))
    return edit


for seed in range(3):
    CASES.append(("btree:random%d" % seed, 4, "four random bytes of the node (seed %d)" % seed,
                  ("raw", random_tree_bytes(seed))))


def main():
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "cases.tsv"), "w") as manifest:
        for name, expected, what, edit in CASES:
            path = os.path.join(OUT, name.replace(":", "_") + ".h5")
            shutil.copyfile(BASE, path)
            if isinstance(edit, tuple):
                edit[1](path)
            else:
                with h5py.File(path, "r+") as f:
                    edit(f)
            manifest.write("%s\t%d\t%s\n" % (name.replace(":", "_"), expected, what))


main()
