// The files rank 0 writes in --out-dir (README: What a run writes): checkpoint.h5 (latest), best.h5
// (lowest val_loss, or EarlyStopping's best epoch), history.csv and learning_curve.svg, each replaced
// atomically.
#pragma once

#include <optional>
#include <string>

#include "fmnist/checkpoint.hpp"
#include "fmnist/comm.hpp"
#include "fmnist/model.hpp"
#include "fmnist/optimizer.hpp"

namespace fmnist {

class RunFiles {
 public:
  // training_config: Keras's, stored in every checkpoint. The model and optimizer are read when saving.
  RunFiles(const std::string& out_dir, const Comm& comm, std::string training_config, const Model<float>& model,
           const Optimizer& optimizer);

  // checkpoint.h5 with the live state (rank 0; nothing elsewhere).
  void save_checkpoint(const TrainingState& state, const History& history,
                       const std::optional<Evaluation>& evaluation) const;
  // best.h5 with the live state (rank 0; nothing elsewhere).
  void save_best(const TrainingState& state, const History& history) const;
  // After an epoch (rank 0): checkpoint.h5, best.h5 when `best`, history.csv, learning_curve.svg.
  void save_epoch(const TrainingState& state, const History& history, bool best) const;

 private:
  std::string out_dir_;
  const Comm& comm_;
  std::string training_config_;
  const Model<float>& model_;
  const Optimizer& optimizer_;
};

}  // namespace fmnist
