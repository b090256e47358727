# Bad command lines: every rank exits 2, rank 0 names the option once, within 10 s, and the
# checkpoint already in the out-dir is untouched.
source "$(dirname "$0")/lib.sh"
make_base
args=("${SMALL[@]}" --batch-size 16 --epochs 1)
cli() {  # cli NAME REGEX OPTIONS...: one bad command line on 2 ranks
  local name=$1 regex=$2
  shift 2
  check_later "$name" 2 "$regex" 2 "${args[@]}" --out-dir "$(seeded_out "$name")" "$@"
}
cli unknown_option "Option .bogus-flag. does not exist" --bogus-flag
cli non_numeric_epochs "--epochs: 'ten' is not a valid integer" --epochs ten
cli non_numeric_lr "--lr: .*0\.0x1" --lr 0.0x1
cli zero_epochs "--epochs:.* 0\b" --epochs 0
cli negative_epochs "--epochs:.*-3" --epochs -3
cli zero_batch "--batch-size:.* 0\b" --batch-size 0
cli negative_batch "--batch-size:.*-16" --batch-size -16
cli batch_above_train_split "--batch-size: 211 is larger than the training split \(210" --batch-size 211
cli val_split_zero "--val-split:.*between 0 and 1.* 0(\.0*)?\b" --val-split 0
cli val_split_one "--val-split:.*between 0 and 1.* 1(\.0*)?\b" --val-split 1
cli val_split_negative "--val-split:.*-0\.2" --val-split -0.2
cli val_split_above_one "--val-split:.*1\.5" --val-split 1.5
cli lr_zero "--lr:.* 0(\.0*)?\b" --lr 0
cli lr_negative "--lr:.*-0\.001" --lr -0.001
cli unknown_optimizer "--optimizer.*adagrad|adagrad.*--optimizer" --optimizer adagrad
cli negative_stall_timeout "--stall-timeout: must be 0 \(off\)" --stall-timeout -1
# More micro-batches per step than the exact fixed-point sum allows (1024).
cli micro_batch_count "--batch-size 2048 with --micro-batch 1 makes 2048 micro-batches per step.*at least 2" \
  --batch-size 2048 --micro-batch 1
run_queued
summary
