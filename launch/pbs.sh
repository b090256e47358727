#!/usr/bin/env bash
# PBS Pro / Torque job for fmnist_dist: one MPI rank per allocated core, preemption-safe.
# PBS sends SIGTERM before it kills a job (kill_delay); the trap forwards SIGUSR1 to mpirun,
# the ranks checkpoint and exit 75, and the job asks to be rerun (qrerun). mpirun starts through
# launch/mpirun.sh (the keepalive that notices a lost node in seconds; FMNIST_MPIRUN_OPTS for more).
#   qsub -l select=2:ncpus=2:mpiprocs=2 -v ARGS="--epochs 15" launch/pbs.sh
#PBS -N fmnist_dist
#PBS -l select=1:ncpus=2:mpiprocs=2
#PBS -l walltime=01:00:00
#PBS -r y
#PBS -j oe
set -uo pipefail
cd "${PBS_O_WORKDIR:-.}"
program=${FMNIST_DIST:-build/fmnist_dist}
np=$(wc -l <"${PBS_NODEFILE:-/dev/null}")
[ "$np" -gt 0 ] || np=$(nproc)
launcher=${FMNIST_MPIRUN:-launch/mpirun.sh}
[ -n "${PBS_NODEFILE:-}" ] && export FMNIST_MPIRUN_OPTS="--hostfile $PBS_NODEFILE ${FMNIST_MPIRUN_OPTS:-}"

trap '[ -n "${pid:-}" ] && kill -USR1 "$pid" 2>/dev/null' USR1 TERM
# shellcheck disable=SC2086  # ARGS is a list of options
"$launcher" "$np" "$program" --resume auto ${ARGS:-} &  # mpirun, or launch/mpirun.sh with FMNIST_RESTARTS
pid=$!
while kill -0 "$pid" 2>/dev/null; do
  wait "$pid"
done
code=0
wait "$pid" || code=$?  # bash keeps the exit status of a finished background job
if [ "$code" -eq 75 ] && [ -n "${PBS_JOBID:-}" ]; then
  qrerun "$PBS_JOBID"
fi
exit "$code"
