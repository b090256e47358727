#!/usr/bin/env bash
# mpirun with the options this machine needs: --allow-run-as-root when run as root, and
# --oversubscribe when more ranks than cores are asked for. Usage: launch/mpirun.sh NP program [args]
set -euo pipefail
np=$1
shift
flags=(-np "$np")
[ "$(id -u)" -eq 0 ] && flags+=(--allow-run-as-root)
if [ "$np" -gt "$(nproc)" ]; then
  flags+=(--oversubscribe --mca mpi_yield_when_idle 1)
fi
export OMP_NUM_THREADS=1
exec mpirun "${flags[@]}" "$@"
