// best.h5 read back for EarlyStopping's restore after a resume: the weights of one epoch, or a refusal
// naming the file when it holds another epoch or another number of weights (a kill between the
// end-of-epoch writes of checkpoint.h5 and best.h5 can leave an older best.h5).
#include "fmnist/checkpoint.hpp"
#include "fmnist/error.hpp"

namespace fmnist {

std::vector<float> read_weights_of_epoch(const std::string& path, std::int64_t epoch, std::size_t num_params) {
  Checkpoint best = read_checkpoint(path);
  if (best.training.epoch != epoch || best.weights.size() != num_params)
    throw Error(Exit::checkpoint, path + ": holds epoch " + std::to_string(best.training.epoch) +
                                      " but the checkpoint's EarlyStopping best epoch is " + std::to_string(epoch) +
                                      ": its weights cannot be restored");
  return std::move(best.weights);
}

}  // namespace fmnist
