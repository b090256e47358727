#!/usr/bin/env bash
# Set up, build, then train with the defaults on every core: one MPI rank per core. In a source
# checkout it builds first and writes run/ at the top of the checkout; installed (cmake --install),
# it uses PREFIX/bin and writes run/ in the current folder (launch/programs.sh; FMNIST_BIN overrides).
# Extra arguments go to fmnist_dist, e.g. launch/run.sh --epochs 3 --out-dir run3; their relative
# paths (--model, --train-csv, --test-csv, --data-dir, --out-dir, --resume FILE) are taken from the
# folder you run it in. FMNIST_NP overrides the number of ranks.
set -euo pipefail
source "$(dirname "$0")/programs.sh"
find_programs trainer
absolute_paths "$@"
[ -z "$checkout" ] || cd "$checkout"
progress=()
[ -t 1 ] && progress=(--progress always)
exec "$launch_dir/mpirun.sh" "${FMNIST_NP:-$(nproc)}" "$bin/fmnist_dist" "${progress[@]}" "${args[@]}"
