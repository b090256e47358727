#!/usr/bin/env bash
# mpirun with the settings fmnist_dist is tested with, the one place for them (launch/slurm.sbatch
# and launch/pbs.sh call this script too). Usage: launch/mpirun.sh NP program [args]
#   - extra mpirun options from FMNIST_MPIRUN_OPTS (a hostfile, a launch agent, transport settings),
#     split on spaces, e.g. FMNIST_MPIRUN_OPTS="--hostfile hosts --mca btl tcp,self";
#   - the out-of-band TCP keepalive that makes mpirun notice a lost or cut-off node in about
#     10 s instead of Open MPI's default of about 8 minutes (README: Running on several machines);
#   - --allow-run-as-root when run as root; on one machine with more ranks than cores (no
#     FMNIST_MPIRUN_OPTS, no batch allocation), --oversubscribe and yield when idle.
set -euo pipefail
np=$1
shift
flags=(-np "$np")
[ "$(id -u)" -eq 0 ] && flags+=(--allow-run-as-root)
flags+=(--mca oob_tcp_keepalive_time 5 --mca oob_tcp_keepalive_intvl 2 --mca oob_tcp_keepalive_probes 2)
read -r -a extra <<<"${FMNIST_MPIRUN_OPTS:-}"
if [ "${#extra[@]}" -eq 0 ] && [ -z "${SLURM_JOB_ID:-}${PBS_JOBID:-}" ] && [ "$np" -gt "$(nproc)" ]; then
  flags+=(--oversubscribe --mca mpi_yield_when_idle 1)
fi
export OMP_NUM_THREADS=1
exec mpirun "${flags[@]}" "${extra[@]}" "$@"
