# Bad input data: every rank exits 3, rank 0 names the file (and the line for CSV) once,
# within 10 s, and the checkpoint already in the out-dir is untouched. CRLF line endings and a
# CSV without header are accepted. Malformed files are made from the fixtures in WORK.
# shellcheck disable=SC2016  # awk programs in single quotes
source "$(dirname "$0")/lib.sh"
make_base
IDX=$FIXTURES/idx
CSV=$FIXTURES/csv
train=(--progress never --batch-size 4 --epochs 1)

# idx_dir NAME: a folder with links to the four fixture .gz files; prints its path.
idx_dir() {
  local dir=$WORK/$1/data
  mkdir -p "$dir"
  for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    ln -s "$IDX/$f.gz" "$dir/$f.gz"
  done
  echo "$dir"
}
# plain DIR STEM: replaces DIR/STEM.gz by its uncompressed copy DIR/STEM (to be edited).
plain() {
  gunzip -c "$1/$2.gz" >"$1/$2"
  rm "$1/$2.gz"
}
# poke FILE OFFSET HEXBYTES: overwrites bytes in place, e.g. poke f 0 '\x00\x00\x08\x03'.
poke() { printf '%b' "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }
# csv_edit NAME AWK: a copy of the training CSV fixture edited by an awk program (FS = OFS = ",").
csv_edit() {
  local f=$WORK/$1.csv
  awk -F, -v OFS=, "$2" "$CSV/fashion-mnist_train.csv" >"$f"
  echo "$f"
}
idx_case() {  # idx_case NAME REGEX DATA_DIR
  check_later "$1" 3 "$2" 2 --data-dir "$3" "${train[@]}" --out-dir "$(seeded_out "$1")"
}
csv_case() {  # csv_case NAME REGEX TRAIN_CSV [TEST_CSV]
  check_later "$1" 3 "$2" 2 --train-csv "$3" --test-csv "${4:-$CSV/fashion-mnist_test.csv}" "${train[@]}" \
    --out-dir "$(seeded_out "$1")"
}

# IDX
idx_case missing_folder "$WORK/no_such_folder.*does not exist" "$WORK/no_such_folder"

d=$(idx_dir missing_file) && rm "$d/t10k-labels-idx1-ubyte.gz"
idx_case missing_file "t10k-labels-idx1-ubyte.*cannot open" "$d"

d=$(idx_dir wrong_magic) && plain "$d" train-labels-idx1-ubyte && poke "$d/train-labels-idx1-ubyte" 0 '\x00\x00\x08\x03'
idx_case wrong_magic "train-labels-idx1-ubyte: wrong magic 0x00000803, expected 0x00000801" "$d"

d=$(idx_dir truncated_idx) && plain "$d" train-images-idx3-ubyte && truncate -s -1000 "$d/train-images-idx3-ubyte"
idx_case truncated_idx "train-images-idx3-ubyte: truncated: expected 235200 bytes" "$d"

d=$(idx_dir truncated_gz) && rm "$d/t10k-images-idx3-ubyte.gz"
head -c "$(($(stat -c %s "$IDX/t10k-images-idx3-ubyte.gz") / 2))" "$IDX/t10k-images-idx3-ubyte.gz" >"$d/t10k-images-idx3-ubyte.gz"
idx_case truncated_gz "t10k-images-idx3-ubyte.gz: corrupt or truncated gzip" "$d"

# 299 labels (header and payload agree) for 300 images.
d=$(idx_dir count_mismatch) && plain "$d" train-labels-idx1-ubyte && poke "$d/train-labels-idx1-ubyte" 4 '\x00\x00\x01\x2b'
truncate -s -1 "$d/train-labels-idx1-ubyte"
idx_case count_mismatch "train-images-idx3-ubyte.gz: holds 300 images, but .*train-labels-idx1-ubyte holds 299 labels" "$d"

d=$(idx_dir idx_label_range) && plain "$d" t10k-labels-idx1-ubyte && poke "$d/t10k-labels-idx1-ubyte" 20 '\x0a'
idx_case idx_label_range "t10k-labels-idx1-ubyte: label 10 out of range 0..9 at record 12" "$d"

d=$(idx_dir empty_idx) && rm "$d/train-images-idx3-ubyte.gz" && : >"$d/train-images-idx3-ubyte"
idx_case empty_idx "train-images-idx3-ubyte: empty file" "$d"

d=$(idx_dir empty_gz) && rm "$d/train-labels-idx1-ubyte.gz" && gzip -c </dev/null >"$d/train-labels-idx1-ubyte.gz"
idx_case empty_gz "train-labels-idx1-ubyte.gz: gzip stream holds no data" "$d"

# CSV (line 1 is the header, so data row k is line k + 1)
csv_case missing_csv "$WORK/none.csv: cannot open" "$WORK/none.csv"
csv_case missing_test_csv "$WORK/none_test.csv: cannot open" "$CSV/fashion-mnist_train.csv" "$WORK/none_test.csv"
f=$(csv_edit short_row 'NR == 3 { NF = 784 } 1')
csv_case wrong_column_count "short_row.csv:3: expected 785 fields, found 784" "$f"
f=$(csv_edit long_row 'NR == 5 { $786 = 0 } 1')
csv_case extra_column "long_row.csv:5: expected 785 fields, found 786" "$f"
f=$(csv_edit token 'NR == 4 { $7 = "abc" } 1')
csv_case non_numeric_token "token.csv:4: field 7 \('abc'\) is not an integer" "$f"
f=$(csv_edit label 'NR == 6 { $1 = 10 } 1')
csv_case label_out_of_range "label.csv:6: label 10 out of range 0..9" "$f"
f=$(csv_edit pixel 'NR == 7 { $100 = 256 } 1')
csv_case pixel_out_of_range "pixel.csv:7: pixel 256 out of range 0..255" "$f"
f=$(csv_edit negative 'NR == 8 { $50 = -1 } 1')
csv_case negative_pixel "negative.csv:8: pixel -1 out of range 0..255" "$f"
: >"$WORK/empty.csv"
csv_case empty_csv "empty.csv: no data rows \(empty file\)" "$WORK/empty.csv"
head -n 1 "$CSV/fashion-mnist_train.csv" >"$WORK/header_only.csv"
csv_case header_only_csv "header_only.csv: no data rows \(only a header\)" "$WORK/header_only.csv"

# Accepted: CRLF line endings, no header (10 rows: 7 train, 3 validation). Each in a folder of its
# own: a fresh run does not replace another run's checkpoint.
ok_case() {
  check_later "$1" 0 "test_loss: [0-9.]+ - test_accuracy: [0-9.]+" 2 --train-csv "$2" --test-csv "$CSV/fashion-mnist_test.csv" \
    "${train[@]}" --out-dir "$WORK/$1/out"
}
ok_case crlf_accepted "$CSV/train_crlf.csv"
ok_case no_header_accepted "$CSV/train_noheader.csv"
run_queued
summary
