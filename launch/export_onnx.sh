#!/usr/bin/env bash
# Export the model launch/run.sh trained to ONNX (docs/onnx.md): set up and build if needed, then
# fmnist_inspect run/best.h5 --export-onnx FILE (default run/model.onnx; a path from where you
# are). run/ is the checkout's, or the current folder's when installed (launch/programs.sh).
# FMNIST_CHECKPOINT picks another checkpoint. Usage: launch/export_onnx.sh [FILE.onnx]
set -euo pipefail
source "$(dirname "$0")/programs.sh"
find_programs programs quiet
run=${checkout:-.}/run
checkpoint=${FMNIST_CHECKPOINT:-$run/best.h5}
[ -f "$checkpoint" ] || { echo "export_onnx: no $checkpoint: train first (launch/run.sh) or set FMNIST_CHECKPOINT" >&2; exit 4; }
exec "$bin/fmnist_inspect" "$checkpoint" --export-onnx "${1:-$run/model.onnx}"
