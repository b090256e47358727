// fmnist_inspect FILE: shows what a checkpoint holds (model, training state, history,
// evaluation), verifies it (--verify), compares it with another (--compare, exit 1 if they
// differ), evaluates its weights on the test set (--evaluate), classifies images (--predict),
// draws pictures (--plot-confusion, --plot-errors), exports the history (--csv, --plot, --json)
// and the model as ONNX (--export-onnx). Options: src/cli/inspect_options.cpp; exit codes there.
//
// --json prints one object (nlohmann::ordered_json, keys in this order; numbers that are not
// finite print as null):
//   "file": string                    the checkpoint
//   "written_by": {"version": string, "commit": string} or null   the fmnist_dist that wrote it
//                                     (root attributes fmnist_dist_version, fmnist_dist_commit; null
//                                     for files written before 1.0.0)
//   "model": {"total_params": int,
//             "layers": [{"name": string, "type": string (Keras class), "output_shape": [int] (no batch),
//                         "params": int}],
//             "tensors": [{"name": string ("conv2d/kernel:0"), "shape": [int], "size": int}]}
//   "training": {name: value}         every /training attribute in file order (the settings table,
//                                     include/fmnist/settings.hpp and checkpoint.hpp): numbers as
//                                     numbers, choices and text as strings
//   "optimizer": {"name": string, "iterations": int, "slots": [string]}
//   "history": {"loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds": [number]}  one per epoch:
//                                     the history's columns (include/fmnist/history.hpp), in their order
//   "best_epoch": int or null         the epoch (from 1) best.h5 holds: EarlyStopping's best when it was
//                                     on, else the lowest val_loss
//   "evaluation": {"test_loss": number, "test_accuracy": number} or null   /evaluation of the file
//   "test": {"samples": int, "test_loss": number, "test_accuracy": number,
//            "confusion": [[int]] ([true][predicted])}   only with --evaluate
//   "verified_datasets": int          only with --verify
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <type_traits>

#include "fmnist/atomic_file.hpp"
#include "fmnist/checkpoint.hpp"
#include "fmnist/checkpoint_compare.hpp"
#include "fmnist/data.hpp"
#include "fmnist/error.hpp"
#include "fmnist/export.hpp"
#include "fmnist/inspect_options.hpp"
#include "fmnist/model.hpp"
#include "fmnist/predict.hpp"
#include "fmnist/report.hpp"
#include "fmnist/text.hpp"
#include "fmnist/version.hpp"

namespace fmnist {
namespace {

using Json = nlohmann::ordered_json;

void print_model(const ModelPlan& plan) {
  std::printf("%s\nWeight tensors (HDF5 /model_weights/<layer>/<name>):\n", model_summary(plan).c_str());
  for (const TensorSpec& t : plan.tensors) {
    std::printf("  %-20s %-16s %7zu\n", t.name.c_str(), shape_text(t.shape).c_str(), t.size);
  }
}

// "fmnist_dist 1.0.0, commit 55646ff4d6f6": the build that wrote the file (its root attributes).
std::string writer_text(const Checkpoint& c) {
  if (c.written_by_version.empty()) return "fmnist_dist before 1.0.0 (no fmnist_dist_version attribute)";
  return "fmnist_dist " + c.written_by_version + ", commit " + c.written_by_commit;
}

// The /training section: who wrote the file, where the run stands, then every recorded setting from
// the settings table.
void print_training(const Checkpoint& c) {
  const TrainingState& t = c.training;
  std::printf("\nTraining state\n");
  std::printf("  written by         %s; kernels %s\n", writer_text(c).c_str(), t.isa.c_str());
  std::printf("  epochs completed   %lld of %lld\n", (long long)t.epoch, (long long)t.epochs);
  std::printf("  optimizer steps    %lld (%lld in the current epoch)\n", (long long)t.step, (long long)t.step_in_epoch);
  std::printf("  world size         %lld\n", (long long)t.world_size);
  std::printf("  optimizer state    %lld iterations, slots:", (long long)c.optimizer.iterations);
  for (const OptimizerSlot& s : c.optimizer.slots) std::printf(" %s", s.name.c_str());
  std::printf("\n  training samples   %lld (data fingerprint %016llx)\n", (long long)t.num_train,
              (unsigned long long)t.data_fingerprint);
  if (t.epoch_samples > 0) {
    std::printf("  current epoch      %lld samples so far, loss %.4f, accuracy %.4f\n", (long long)t.epoch_samples,
                t.epoch_loss_sum / double(t.epoch_samples), double(t.epoch_correct) / double(t.epoch_samples));
  }
  if (c.history.epochs() > 0) std::printf("  best val_loss      %.4f\n", t.best_val_loss);
  std::printf("\nSettings of the run\n");
  for (const auto& [name, text] : training_settings_text(t)) std::printf("  %-18s %s\n", name.c_str(), text.c_str());
}

// The history's table (kHistoryColumns): a heading per column as wide as its values.
void print_history(const History& h) {
  std::printf("\nHistory (%zu epochs)\n  epoch", h.epochs());
  for (const HistoryColumn& column : kHistoryColumns) std::printf("  %*s", column.table_width, column.key);
  std::printf("\n");
  for (std::size_t e = 0; e < h.epochs(); ++e) {
    std::printf("  %5zu", e + 1);
    for (const HistoryColumn& column : kHistoryColumns) {
      std::printf("  ");
      std::printf(column.table_format, (h.*column.values)[e]);
    }
    std::printf("\n");
  }
}

// The file's /evaluation, or what the file is when it has none: best.h5 (written at its epoch,
// before the test evaluation), a checkpoint of a run still under way, or one of a run without a
// test set. Each says how to get the test figures of its weights.
void print_evaluation(const Checkpoint& c, const std::string& file) {
  if (c.evaluation) {
    std::printf("\nEvaluation\n  test_loss: %.4f - test_accuracy: %.4f\n", c.evaluation->test_loss,
                c.evaluation->test_accuracy);
    return;
  }
  const TrainingState& t = c.training;
  const History& h = c.history;
  const std::string how = "  For the test figures of these weights: fmnist_inspect " + file + " --evaluate\n";
  if (t.step_in_epoch == 0 && h.epochs() > 0 && best_h5_mark(t, h).epoch == h.epochs()) {
    char best[96];
    if (early_stopping_on(t)) {
      std::snprintf(best, sizeof best, "best %s so far (EarlyStopping's)", to_text(t.monitor).c_str());
    } else {
      std::snprintf(best, sizeof best, "lowest val_loss so far (%.4f)", h.val_loss.back());
    }
    std::printf("\nEvaluation: none in this file. It holds the weights after epoch %zu of %lld, the epoch with the\n"
                "  %s, as best.h5 does: best.h5 is written at that epoch, before the test\n"
                "  evaluation at the end of the run (which goes into checkpoint.h5).\n%s",
                h.epochs(), (long long)t.epochs, best, how.c_str());
  } else if (t.epoch < t.epochs || t.step_in_epoch > 0) {
    std::printf("\nEvaluation: none yet: training had not finished when this was written (%lld of %lld epochs "
                "completed, step %lld).\n%s",
                (long long)t.epoch, (long long)t.epochs, (long long)t.step, how.c_str());
  } else {
    std::printf("\nEvaluation: none: the run had no test set.\n%s", how.c_str());
  }
}

void print_report(const Checkpoint& c, const std::string& file) {
  print_model(plan_model(c.model));
  print_training(c);
  print_history(c.history);
  print_evaluation(c, file);
}

Json model_json(const ModelPlan& plan) {
  Json layers = Json::array(), tensors = Json::array();
  for (std::size_t i = 0; i < plan.layers.size(); ++i) {
    layers.push_back({{"name", plan.spec.layers[i].name},
                      {"type", keras_name(plan.spec.layers[i].kind)},
                      {"output_shape", plan.layers[i].output_shape},
                      {"params", plan.layers[i].params}});
  }
  for (const TensorSpec& t : plan.tensors) tensors.push_back({{"name", t.name}, {"shape", t.shape}, {"size", t.size}});
  return {{"total_params", plan.num_params}, {"layers", layers}, {"tensors", tensors}};
}

// Every /training attribute, in file order: numbers as numbers, choices and text as strings.
Json training_json(const TrainingState& t) {
  Json j = Json::object();
  visit_training_fields(t, [&](const SettingInfo& info, const auto& value) {
    if constexpr (Choice<std::decay_t<decltype(value)>>) {
      j[info.key] = to_text(value);
    } else {
      j[info.key] = value;
    }
  });
  return j;
}

Json test_json(const Scores& s) {
  Json confusion = Json::array();
  for (int r = 0; r < s.classes; ++r) {
    Json row = Json::array();
    for (int p = 0; p < s.classes; ++p) row.push_back(s.count(r, p));
    confusion.push_back(row);
  }
  return {{"samples", s.samples}, {"test_loss", s.loss}, {"test_accuracy", s.accuracy}, {"confusion", confusion}};
}

Json to_json(const std::string& file, const Checkpoint& c, const std::optional<Scores>& test,
             std::optional<std::size_t> verified) {
  const History& h = c.history;
  Json slots = Json::array(), history = Json::object();
  for (const OptimizerSlot& s : c.optimizer.slots) slots.push_back(s.name);
  const Json written_by = c.written_by_version.empty()
                              ? Json(nullptr)
                              : Json{{"version", c.written_by_version}, {"commit", c.written_by_commit}};
  for (const HistoryColumn& column : kHistoryColumns) history[column.key] = h.*column.values;
  Json j = {{"file", file},
            {"written_by", written_by},
            {"model", model_json(plan_model(c.model))},
            {"training", training_json(c.training)},
            {"optimizer", {{"name", to_text(c.optimizer.kind)}, {"iterations", c.optimizer.iterations}, {"slots", slots}}},
            {"history", history}};
  j["best_epoch"] = h.epochs() > 0 ? Json(best_h5_mark(c.training, h).epoch) : Json(nullptr);
  j["evaluation"] = c.evaluation ? Json{{"test_loss", c.evaluation->test_loss},
                                        {"test_accuracy", c.evaluation->test_accuracy}}
                                 : Json(nullptr);
  if (test) j["test"] = test_json(*test);
  if (verified.has_value()) j["verified_datasets"] = Json(verified.value());
  return j;
}

// --verify: prints the problems and throws if there are any; returns the datasets checked.
std::size_t verify(const InspectOptions& o) {
  std::size_t checked = 0;
  const auto problems = verify_checkpoint(o.file, &checked);
  for (const std::string& p : problems) std::printf("PROBLEM: %s\n", p.c_str());
  if (!problems.empty()) {
    throw Error(Exit::checkpoint, o.file + ": " + std::to_string(problems.size()) + " problem(s) found");
  }
  if (!o.json) std::printf("OK: %zu datasets verified\n", checked);
  return checked;
}

int run(const InspectOptions& o) {
  std::optional<std::size_t> verified;
  if (o.verify) verified = verify(o);
  const Checkpoint c = read_checkpoint(o.file);
  if (!o.compare.empty()) {
    const Comparison comparison = compare_checkpoints(c, read_checkpoint(o.compare), o.tolerance);
    std::fputs(comparison_text(comparison, o.file, o.compare).c_str(), stdout);
    return comparison.same() ? 0 : kInspectDiffer;
  }
  std::optional<Scores> test;
  std::optional<Classifier> classifier;
  if (o.evaluate || o.predict) classifier.emplace(load_classifier(c));
  if (o.evaluate) {
    const Dataset data = o.test_csv.empty() ? read_idx_dir(o.data_dir).test : read_csv(o.test_csv);
    test = evaluate_test_set(*classifier, data, o.pictures, o.file + " on the test set");
  }
  if (o.predict) predict(*classifier, o.predict_options);
  if (!o.onnx.empty()) {
    const std::string written = export_onnx(c.model, c.weights, o.onnx);
    if (!o.json) std::printf("%s\n", written.c_str());
  }
  if (!o.csv.empty()) write_file_atomically(o.csv, history_csv(c.history, c.training.run_id));
  if (!o.plot.empty()) write_file_atomically(o.plot, learning_curve_svg(c.history, best_h5_mark(c.training, c.history)));
  if (o.json) {
    std::printf("%s\n", to_json(o.file, c, test, verified).dump(2).c_str());
  } else if (o.show_report()) {
    print_report(c, o.file);
  } else if (test) {
    std::printf("Test set: %zu images\ntest_loss: %.4f - test_accuracy: %.4f\n\n%s", test->samples, test->loss,
                test->accuracy, confusion_text(*test, classifier->class_names()).c_str());
  }
  return 0;
}

}  // namespace
}  // namespace fmnist

int main(int argc, char** argv) {
  try {
    const fmnist::InspectOptions options = fmnist::parse_inspect_options(argc, argv);
    if (options.help || options.version) {
      std::fputs(options.help ? options.help_text.c_str() : fmnist::version_text("fmnist_inspect").c_str(), stdout);
      return 0;
    }
    return fmnist::run(options);
  } catch (const fmnist::Error& e) {
    std::fprintf(stderr, "fmnist_inspect: %s\n", e.what());
    return e.code() == fmnist::Exit::internal ? fmnist::kInspectInternal : e.exit_code();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fmnist_inspect: internal error: %s\n", e.what());
    return fmnist::kInspectInternal;
  }
}
