#!/usr/bin/env bash
# Export the model launch/run.sh trained to ONNX (README: Exporting to ONNX): set up and build if
# needed, then fmnist_inspect run/best.h5 --export-onnx FILE (default run/model.onnx; a path from
# where you are). FMNIST_CHECKPOINT picks another checkpoint. Usage: launch/export_onnx.sh [FILE.onnx]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
"$repo/launch/setup.sh" >/dev/null
checkpoint=${FMNIST_CHECKPOINT:-$repo/run/best.h5}
[ -f "$checkpoint" ] || { echo "export_onnx: no $checkpoint: train first (launch/run.sh) or set FMNIST_CHECKPOINT" >&2; exit 4; }
exec "$repo/build/fmnist_inspect" "$checkpoint" --export-onnx "${1:-$repo/run/model.onnx}"
