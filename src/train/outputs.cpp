// Rank 0's output files. Between files it tells the ranks waiting in the next allreduce that it is
// alive (Comm::keep_alive), so slow disks do not look like a stalled rank. After each file is in
// place, the test hook FMNIST_TEST_KILL_AT=after_rename:NAME may end the process (test_hooks.hpp).
#include "outputs.hpp"

#include "fmnist/atomic_file.hpp"
#include "fmnist/report.hpp"
#include "resume.hpp"
#include "test_hooks.hpp"

namespace fmnist {

RunFiles::RunFiles(const std::string& out_dir, const Comm& comm, std::string training_config,
                   const Model<float>& model, const Optimizer& optimizer)
    : out_dir_(out_dir), comm_(comm), training_config_(std::move(training_config)), model_(model),
      optimizer_(optimizer) {}

void RunFiles::save_checkpoint(const TrainingState& state, const History& history,
                               const std::optional<Evaluation>& evaluation) const {
  if (!comm_.is_root()) return;
  write_checkpoint(out_dir_ + "/checkpoint.h5",
                   make_checkpoint(model_, training_config_, optimizer_, state, history, evaluation));
  test_hooks::after_rename("checkpoint.h5");
}

void RunFiles::save_best(const TrainingState& state, const History& history) const {
  if (!comm_.is_root()) return;
  write_checkpoint(out_dir_ + "/best.h5", make_checkpoint(model_, training_config_, optimizer_, state, history, std::nullopt));
  test_hooks::after_rename("best.h5");
}

void RunFiles::save_epoch(const TrainingState& state, const History& history, bool best) const {
  if (!comm_.is_root()) return;
  save_checkpoint(state, history, std::nullopt);
  comm_.keep_alive();
  if (best) save_best(state, history);
  comm_.keep_alive();
  write_file_atomically(out_dir_ + "/history.csv", history_csv(history, state.run_id));
  test_hooks::after_rename("history.csv");
  write_file_atomically(out_dir_ + "/learning_curve.svg", learning_curve_svg(history, best_h5_mark(state, history)));
  test_hooks::after_rename("learning_curve.svg");
  comm_.keep_alive();
}

}  // namespace fmnist
