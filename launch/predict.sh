#!/usr/bin/env bash
# Classify your own pictures with the model launch/run.sh trained: set up and build if needed,
# then fmnist_inspect run/best.h5 --predict INPUT... (pictures, folders, IDX or CSV files; paths
# from where you are). Other fmnist_inspect options may follow, e.g. --invert no, --csv out.csv.
# run/ is the checkout's, or the current folder's when installed (launch/programs.sh).
# FMNIST_CHECKPOINT picks another checkpoint. Usage: launch/predict.sh INPUT... [options]
set -euo pipefail
source "$(dirname "$0")/programs.sh"
find_programs programs quiet
checkpoint=${FMNIST_CHECKPOINT:-${checkout:-.}/run/best.h5}
[ -f "$checkpoint" ] || { echo "predict: no $checkpoint: train first (launch/run.sh) or set FMNIST_CHECKPOINT" >&2; exit 4; }
exec "$bin/fmnist_inspect" "$checkpoint" --predict "$@"
