#!/usr/bin/env bash
# launch/run.sh and launch/recipe.sh take relative paths from the folder the user runs them in,
# although they change into the checkout (README: Your own data and models): launch/programs.sh's
# absolute_paths on every form of the six path options, then real 1-step runs from a folder outside
# the checkout with relative --train-csv, --test-csv, --model, --out-dir, --data-dir, --resume FILE
# (and --out-dir=DIR), whose files must land there and nowhere in the checkout. Control: the same
# relative paths given to fmnist_dist in the checkout's folder name files that are not there (exit 3).
source "$(dirname "$0")/../mpi/lib.sh"

# absolute_paths, word by word (no run): relative -> absolute; absolute, empty, auto, flags unchanged.
got=$(cd "$WORK" && bash -c 'source "$1/launch/programs.sh"; shift; absolute_paths "$@"; printf "%s|" "${args[@]}"' _ "$SRC" \
  --model m.json --out-dir=o --resume --epochs 3 --resume auto --resume r/c.h5 --data-dir /abs --test-csv= \
  --train-csv "a b.csv" --seed 1 --resume=x.h5)
want="--model|$WORK/m.json|--out-dir=$WORK/o|--resume|--epochs|3|--resume|auto|--resume|$WORK/r/c.h5|--data-dir|/abs|"
want+="--test-csv=|--train-csv|$WORK/a b.csv|--seed|1|--resume=$WORK/x.h5|"
[ "$got" = "$want" ] || fail "absolute_paths gave
  $got
instead of
  $want"

# The user's folder, outside the checkout, with data and a model under relative names.
user=$WORK/user
mkdir -p "$user/data" "$user/models" "$user/idx"
cp "$FIXTURES/csv/fashion-mnist_train.csv" "$FIXTURES/csv/fashion-mnist_test.csv" "$user/data/"
cp "$FIXTURES/idx/"*.gz "$user/idx/"
"$DIST" --print-model | sed 's/"dense_1"/"my_output"/g' >"$user/models/mine.json"
grep -q my_output "$user/models/mine.json" || fail "could not rename a layer of the printed model"
run_here() {  # run_here LOG SCRIPT ARGS...: the launch script from the user's folder, built programs
  local log=$1 script=$2
  shift 2
  (cd "$user" && FMNIST_BIN=$BUILD FMNIST_NP=2 timeout -k 5 120 "$SRC/launch/$script" --progress never \
    --batch-size 16 --max-steps 1 "$@") >"$log" 2>&1 || { cat "$log" >&2; fail "launch/$script $* failed"; }
}
before=$(cd "$SRC" && git status --porcelain --ignored 2>/dev/null | sort)

run_here "$WORK/csv.log" run.sh --train-csv data/fashion-mnist_train.csv --test-csv data/fashion-mnist_test.csv \
  --model models/mine.json --out-dir out
verified "$user/out/checkpoint.h5"
"$INSPECT" "$user/out/checkpoint.h5" >"$WORK/inspect.log" || fail "fmnist_inspect on the run"
expect_text "$WORK/inspect.log" "my_output \(Dense\)"
expect_text "$WORK/csv.log" "data/fashion-mnist_train.csv"

run_here "$WORK/resume.log" run.sh --train-csv=data/fashion-mnist_train.csv --resume out/checkpoint.h5 \
  --out-dir=resumed --max-steps 2 --model models/mine.json
expect_text "$WORK/resume.log" "Resumed at epoch"
verified "$user/resumed/checkpoint.h5"

run_here "$WORK/recipe.log" recipe.sh --data-dir idx --micro-batch 8 --out-dir rec
verified "$user/rec/checkpoint.h5"
expect_text "$WORK/recipe.log" "random_flip \(RandomFlip\)"

after=$(cd "$SRC" && git status --porcelain --ignored 2>/dev/null | sort)
[ "$before" = "$after" ] || fail "the runs wrote into the checkout: $(diff <(echo "$before") <(echo "$after"))"
for d in out resumed rec; do [ ! -e "$SRC/$d" ] || fail "$SRC/$d was written: the path was not taken from the user's folder"; done

# Control: in the checkout's folder the same relative names are not there, so the paths did matter.
(cd "$SRC" && expect_exit 3 "$WORK/control.log" mpi 1 --train-csv data/fashion-mnist_train.csv \
  --progress never --max-steps 1 --out-dir "$WORK/control")
expect_text "$WORK/control.log" "data/fashion-mnist_train.csv: cannot open"
echo "launch paths: relative paths are taken from the user's folder"
