"""Cuts small seed inputs for the fuzz targets from tests/fixtures.
Usage: make_seeds.py FIXTURES CSV_SEED_DIR IDX_SEED_DIR"""
import gzip
import os
import struct
import sys

fixtures, csv_dir, idx_dir = sys.argv[1:4]
os.makedirs(csv_dir, exist_ok=True)
os.makedirs(idx_dir, exist_ok=True)


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def lines(name, n):
    with open(os.path.join(fixtures, "csv", name), "rb") as f:
        return b"".join(f.readlines()[:n])


# CSV: a header and two rows (LF); two rows with CRLF; one row without header; a header alone.
write(os.path.join(csv_dir, "header_2rows.csv"), lines("fashion-mnist_train.csv", 3))
write(os.path.join(csv_dir, "crlf.csv"), lines("train_crlf.csv", 3))
write(os.path.join(csv_dir, "noheader.csv"), lines("train_noheader.csv", 1))
write(os.path.join(csv_dir, "header_only.csv"), lines("fashion-mnist_test.csv", 1))

# IDX: [2-byte little-endian labels length][labels file][images file], each plain or gzip.
idx = os.path.join(fixtures, "idx")
with gzip.open(os.path.join(idx, "t10k-labels-idx1-ubyte.gz")) as f:
    labels = f.read()[8:]
with gzip.open(os.path.join(idx, "t10k-images-idx3-ubyte.gz")) as f:
    images = f.read()[16:]


def pair(n, gz_labels, gz_images):
    lab = struct.pack(">II", 0x801, n) + labels[:n]
    img = struct.pack(">IIII", 0x803, n, 28, 28) + images[: n * 784]
    if gz_labels:
        lab = gzip.compress(lab, mtime=0)
    if gz_images:
        img = gzip.compress(img, mtime=0)
    return struct.pack("<H", len(lab)) + lab + img


write(os.path.join(idx_dir, "plain_2.bin"), pair(2, False, False))
write(os.path.join(idx_dir, "gzip_1.bin"), pair(1, True, True))
write(os.path.join(idx_dir, "mixed_1.bin"), pair(1, False, True))
write(os.path.join(idx_dir, "empty_0.bin"), pair(0, False, False))
