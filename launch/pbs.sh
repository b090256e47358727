#!/usr/bin/env bash
# PBS Pro / Torque job for fmnist_dist: one MPI rank per allocated core, preemption-safe.
# PBS sends SIGTERM before it kills a job (kill_delay); the trap forwards SIGUSR1 to
# launch/mpirun.sh, the ranks checkpoint and exit 75 (or the launch ends, if they had not started),
# and the job asks to be rerun (qrerun). launch/mpirun.sh starts mpirun with the keepalive that notices
# a lost node in seconds and watches it (FMNIST_MPIRUN_OPTS for more).
#   qsub -l select=2:ncpus=2:mpiprocs=2 -v ARGS="--epochs 15" launch/pbs.sh
#PBS -N fmnist_dist
#PBS -l select=1:ncpus=2:mpiprocs=2
#PBS -l walltime=01:00:00
#PBS -r y
#PBS -j oe
set -uo pipefail
# Any stop signal ends in exit 75 and a rerun, as in launch/slurm.sbatch.
stop=""
trap 'stop=1; [ -z "${pid:-}" ] || kill -USR1 "$pid" 2>/dev/null || true' USR1 TERM
cd "${PBS_O_WORKDIR:-.}" || exit 1
program=${FMNIST_DIST:-build/fmnist_dist}
# The ranks: one per line of the node file, else one per processor. No command substitution after the
# trap: bash 5.2 may lose a signal that comes while it expands one (launch/mpirun.sh says more).
nodes=()
[ -z "${PBS_NODEFILE:-}" ] || [ ! -r "$PBS_NODEFILE" ] || mapfile -t nodes <"$PBS_NODEFILE"
np=${#nodes[@]}
if [ "$np" -eq 0 ]; then
  while read -r key _; do [ "$key" != processor ] || np=$((np + 1)); done </proc/cpuinfo
fi
[ "$np" -gt 0 ] || np=1
launcher=${FMNIST_MPIRUN:-launch/mpirun.sh}
[ -n "${PBS_NODEFILE:-}" ] && export FMNIST_MPIRUN_OPTS="--hostfile $PBS_NODEFILE ${FMNIST_MPIRUN_OPTS:-}"

code=75
if [ -z "$stop" ]; then
  # shellcheck disable=SC2086  # ARGS is a list of options
  "$launcher" "$np" "$program" --resume auto ${ARGS:-} &
  pid=$!
  [ -z "$stop" ] || kill -USR1 "$pid" 2>/dev/null || true  # a signal between the start and pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    wait "$pid"
  done
  code=0
  wait "$pid" || code=$?  # bash keeps the exit status of a finished background job
fi
# A signal that reached the launcher before it could trap it ended it: nothing ran; rerun all the same.
if [ -n "$stop" ] && [ "$code" -gt 128 ]; then code=75; fi
if [ "$code" -eq 75 ] && [ -n "${PBS_JOBID:-}" ]; then
  qrerun "$PBS_JOBID"
fi
exit "$code"
