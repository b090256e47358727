// The training job on one rank: load and split the data, build the replica, resume if asked,
// then the epoch/step loop with one allreduce per step, evaluation, checkpoints and history.
#pragma once

#include "fmnist/comm.hpp"
#include "fmnist/config.hpp"
#include "fmnist/error.hpp"

namespace fmnist {

// An error that every rank raises at the same point with the same code (after a collective
// agreement, or from values that an allreduce made identical): rank 0 prints it, nobody aborts.
class CollectiveError : public Error {
 public:
  using Error::Error;
};

// Runs the job; returns the exit code (0, or 75 when stopped by a signal).
// Throws CollectiveError for errors all ranks share and Error for a failure on this rank alone.
int run_training(const Config& config, const Comm& comm);

}  // namespace fmnist
