#!/usr/bin/env bash
# Set up, build, then train with the defaults on every core: one MPI rank per core.
# Extra arguments go to fmnist_dist, e.g. launch/run.sh --epochs 3 --out-dir run3.
# FMNIST_NP overrides the number of ranks.
set -euo pipefail
cd "$(dirname "$0")/.."
launch/setup.sh
progress=()
[ -t 1 ] && progress=(--progress always)
exec launch/mpirun.sh "${FMNIST_NP:-$(nproc)}" build/fmnist_dist "${progress[@]}" "$@"
