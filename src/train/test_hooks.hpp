// Test-only hooks read from the environment (not options, not in --help), so the fault tests can
// stop, hang, slow down, kill or fail a rank at a named moment with real signals and system calls
// (tests/fault/freeze_sweep.sh, stall.sh, faults.sh, run_files.sh, tests/mpi/signal_stop.sh):
//   FMNIST_TEST_FREEZE=RANK:POINT     that rank raises SIGSTOP at POINT: init (before MPI_Init), start,
//                                     data (before reading the data), first_step, step=K (before the
//                                     allreduce the watchdog calls "at step K"), evaluation,
//                                     test_evaluation, last_checkpoint, shutdown
//   FMNIST_TEST_HANG=RANK:POINT       that rank blocks at POINT in a read that never returns (a hung file
//                                     system: the process stays alive, unlike with SIGSTOP)
//   FMNIST_TEST_SLOW=RANK:POINT:SECS  that rank spends SECS seconds at POINT writing 4 KiB and syncing it to
//                                     a scratch file every 0.1 s (a slow file system that makes progress)
//   FMNIST_TEST_FAIL_AT=RANK:STEP     that rank throws an Error before step STEP (0-based steps done)
//   FMNIST_TEST_KILL_AT=POINT         rank 0 ends itself with SIGKILL (a crash: nothing is flushed or
//                                     cleaned up) at POINT: after_rename:FILE[:N], right after the Nth
//                                     (default 1st) replacement of FILE in --out-dir (checkpoint.h5,
//                                     best.h5, history.csv, learning_curve.svg); or step=K, before the
//                                     allreduce of step K
//   FMNIST_TEST_HOOK_ONCE=FILE        the freeze and kill points act only while FILE does not exist,
//                                     and create it when they act: a restarted job does not repeat them
// RANK may be *: every rank.
#pragma once

#include <cstdint>

namespace fmnist::test_hooks {

// Freezes, hangs or slows this process when a variable above names this rank and `point`.
void freeze_at(int rank, const char* point);

// freeze_at(the launcher's rank number, "init"), before MPI_Init has told the rank its number.
void before_init();

// Before each training step; `steps_done` is the number of steps taken before it (0-based).
// Freezes at first_step (the first step of this process) or step=K (steps_done + 1 == K), and
// throws Error(Exit::internal) where FMNIST_TEST_FAIL_AT names this rank and step; on rank 0,
// SIGKILL where FMNIST_TEST_KILL_AT is step=K (steps_done + 1 == K).
void before_step(int rank, std::int64_t steps_done);

// Rank 0, after `file` of --out-dir was put in place: SIGKILL where FMNIST_TEST_KILL_AT names it.
void after_rename(const char* file);

}  // namespace fmnist::test_hooks
