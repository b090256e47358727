#!/usr/bin/python3
"""Cuts the small test fixtures in tests/fixtures/ from the real Fashion-MNIST files and writes
the numpy reference for the train/validation split (tests/fixtures/split_reference.txt).
Run with Debian's /usr/bin/python3 (numpy, no scikit-learn needed); see data/README.md.
The output is deterministic: re-running it reproduces the committed fixtures byte for byte."""

import argparse
import gzip
import math
import os

import numpy as np

SOURCE = "/usr/share/datasets/fashion-mnist"
TRAIN_IDX = 300  # first training images in the IDX fixtures
TEST_IDX = 100   # first test images in the IDX fixtures


def read_idx(path, magic, header_bytes):
    with gzip.open(path, "rb") as f:
        data = f.read()
    assert int.from_bytes(data[:4], "big") == magic, path
    return np.frombuffer(data, np.uint8, offset=header_bytes)


def idx_bytes(images, labels):
    n = len(labels)
    image_file = (0x803).to_bytes(4, "big") + n.to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    label_file = (0x801).to_bytes(4, "big") + n.to_bytes(4, "big")
    return image_file + images.tobytes(), label_file + labels.tobytes()


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def write_gz(path, data):
    # mtime=0 and no file name in the header keep the output reproducible.
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as f:
        f.write(data)


def csv_text(images, labels, header=True, newline="\n"):
    lines = ["label," + ",".join(f"pixel{i}" for i in range(1, 785))] if header else []
    for label, image in zip(labels, images):
        lines.append(",".join([str(int(label))] + [str(int(v)) for v in image]))
    return (newline.join(lines) + newline).encode("ascii")


def sklearn_split(n, test_size, seed):
    """sklearn.model_selection.train_test_split(range(n), test_size=..., random_state=seed)."""
    n_test = math.ceil(test_size * n)  # float64, exactly as sklearn's _validate_shuffle_split
    permutation = np.random.RandomState(seed).permutation(n)
    return permutation[:n_test], permutation[n_test:]


def split_reference():
    out = [f"# numpy {np.__version__} legacy RandomState(seed).permutation(n) and sklearn's split",
           "# (n_test = ceil(test_size * n) in float64). Written by data/make_fixtures.py.",
           "# permutation N SEED OFFSET : p[OFFSET], p[OFFSET + 1], ... (all of p when N <= 1000)",
           "# size N TEST_SIZE SEED : N_VALIDATION N_TRAIN",
           "# slice N TEST_SIZE SEED PART OFFSET : PART[OFFSET], PART[OFFSET + 1], ..."]
    join = lambda values: " ".join(str(int(v)) for v in values)
    for n, seed in [(1000, 7), (1, 0), (2, 5), (17, 4294967295), (65537, 123)]:
        p = np.random.RandomState(seed).permutation(n)
        pieces = [(0, n)] if n <= 1000 else [(0, 20), (n - 20, 20)]
        for offset, count in pieces:
            out.append(f"permutation {n} {seed} {offset} : {join(p[offset:offset + count])}")
    for n, test_size, seed in [(60000, 0.3, 42), (100, 0.55, 3), (10, 0.3, 42), (42000, 0.3, 0)]:
        validation, train = sklearn_split(n, test_size, seed)
        key = f"{n} {test_size!r} {seed}"
        out.append(f"size {key} : {len(validation)} {len(train)}")
        for name, part in (("validation", validation), ("train", train)):
            offsets = [0] if len(part) <= 40 else [0, len(part) - 20]
            for offset in offsets:
                count = len(part) if len(part) <= 40 else 20
                out.append(f"slice {key} {name} {offset} : {join(part[offset:offset + count])}")
    return ("\n".join(out) + "\n").encode("ascii")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument("--source", default=SOURCE)
    parser.add_argument("--out", default=os.path.join(root, "tests", "fixtures"))
    args = parser.parse_args()

    train_x = read_idx(os.path.join(args.source, "train-images-idx3-ubyte.gz"), 0x803, 16).reshape(-1, 784)
    train_y = read_idx(os.path.join(args.source, "train-labels-idx1-ubyte.gz"), 0x801, 8)
    test_x = read_idx(os.path.join(args.source, "t10k-images-idx3-ubyte.gz"), 0x803, 16).reshape(-1, 784)
    test_y = read_idx(os.path.join(args.source, "t10k-labels-idx1-ubyte.gz"), 0x801, 8)

    idx_dir = os.path.join(args.out, "idx")
    csv_dir = os.path.join(args.out, "csv")
    os.makedirs(idx_dir, exist_ok=True)
    os.makedirs(csv_dir, exist_ok=True)

    train_images, train_labels = idx_bytes(train_x[:TRAIN_IDX], train_y[:TRAIN_IDX])
    test_images, test_labels = idx_bytes(test_x[:TEST_IDX], test_y[:TEST_IDX])
    write_gz(os.path.join(idx_dir, "train-images-idx3-ubyte.gz"), train_images)
    write_gz(os.path.join(idx_dir, "train-labels-idx1-ubyte.gz"), train_labels)
    write_gz(os.path.join(idx_dir, "t10k-images-idx3-ubyte.gz"), test_images)
    write_gz(os.path.join(idx_dir, "t10k-labels-idx1-ubyte.gz"), test_labels)
    write(os.path.join(idx_dir, "t10k-images-idx3-ubyte"), test_images)
    write(os.path.join(idx_dir, "t10k-labels-idx1-ubyte"), test_labels)

    write(os.path.join(csv_dir, "fashion-mnist_train.csv"), csv_text(train_x[:30], train_y[:30]))
    write(os.path.join(csv_dir, "fashion-mnist_test.csv"), csv_text(test_x[:20], test_y[:20]))
    write(os.path.join(csv_dir, "train_crlf.csv"), csv_text(train_x[:10], train_y[:10], newline="\r\n"))
    write(os.path.join(csv_dir, "train_noheader.csv"),
          csv_text(train_x[40:50], train_y[40:50], header=False))

    write(os.path.join(args.out, "split_reference.txt"), split_reference())


if __name__ == "__main__":
    main()
