// What a rank tells launch/mpirun.sh through files in FMNIST_RANK_STATUS, whatever mpirun's output
// options (docs/clusters.md: What launch/mpirun.sh watches): "started" once the ranks' first exchange has
// completed (the launch is over), "verdict" with the exit code when a rank ends the job. Without the
// variable nothing is written; errors are ignored: the files only inform.
#pragma once

namespace fmnist {

// Reads FMNIST_RANK_STATUS and the launcher's rank number and prepares the paths. Call once, early
// (before MPI_Init), so that signal handlers can write without allocating.
void prepare_launch_status();

// Creates <folder>/started (this rank's number inside); later calls do nothing.
void report_started();

// Creates <folder>/verdict holding "CODE RANK" unless a rank already did. Async-signal-safe.
void report_verdict(int code) noexcept;

}  // namespace fmnist
