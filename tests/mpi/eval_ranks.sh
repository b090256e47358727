# --eval-ranks all shares validation and test evaluation across the ranks and gives the same
# figures as rank 0 alone.
source "$(dirname "$0")/lib.sh"
run=("${SMALL[@]}" --batch-size 32 --epochs 2 --seed 1)
expect_exit 0 "$WORK/zero.log" mpi 2 "${run[@]}" --out-dir "$WORK/zero"
expect_exit 0 "$WORK/all.log" mpi 3 "${run[@]}" --out-dir "$WORK/all" --eval-ranks all
figures() { grep -E "^Epoch|^test_loss" "$1" | sed -E 's/ - [0-9.]+s - / - /'; }
[ -n "$(figures "$WORK/zero.log")" ] || fail "no figures printed"
# 2 and 3 ranks train within rounding of each other; the printed figures (4 decimals) agree.
[ "$(figures "$WORK/zero.log")" = "$(figures "$WORK/all.log")" ] || {
  diff <(figures "$WORK/zero.log") <(figures "$WORK/all.log") >&2
  fail "--eval-ranks all printed other figures"
}
echo "1 passed, 0 failed"
