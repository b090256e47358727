// best.h5 read back for EarlyStopping's restore after a resume: the weights of one epoch of one run,
// or a refusal naming the file when it holds another run, another epoch or another number of weights
// (a kill between the end-of-epoch writes of checkpoint.h5 and best.h5 can leave an older best.h5).
#include "fmnist/checkpoint.hpp"
#include "fmnist/error.hpp"

namespace fmnist {

std::vector<float> read_weights_of_epoch(const std::string& path, const std::string& run_id, std::int64_t epoch,
                                         std::size_t num_params) {
  Checkpoint best = read_checkpoint(path);
  if (!best.training.run_id.empty() && best.training.run_id != run_id)
    throw Error(Exit::checkpoint, path + ": belongs to run " + best.training.run_id + ", not to run " + run_id +
                                      " which this run continues: its weights cannot be restored");
  if (best.training.epoch != epoch || best.weights.size() != num_params)
    throw Error(Exit::checkpoint, path + ": holds epoch " + std::to_string(best.training.epoch) +
                                      " but the checkpoint's EarlyStopping best epoch is " + std::to_string(epoch) +
                                      ": its weights cannot be restored");
  return std::move(best.weights);
}

}  // namespace fmnist
