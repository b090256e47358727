// read_checkpoint and verify_checkpoint share one reader: every dataset is checked for its
// Fletcher32 filter, its checksum (HDF5 verifies it in H5Dread), its shape and, for weights
// and optimizer slots, finiteness. Reading stops at the first problem; verifying collects them.
// Nothing the file declares is trusted with memory: every size (strings, lists, dataset shapes and
// their stored bytes, the model's parameters) is checked against the run's facts and the file's
// own size before anything is allocated, and /training's counters against each other (limits.cpp).
#include <cmath>
#include <cstring>
#include <filesystem>
#include <optional>
#include <type_traits>
#include <utility>

#include "fmnist/error.hpp"
#include "fmnist/regular_file.hpp"
#include "fmnist/text.hpp"
#include "hdf5.hpp"
#include "layout.hpp"
#include "limits.hpp"

namespace fmnist {
namespace {

class Reader {
 public:
  Reader(std::string path, bool collect) : path_(std::move(path)), collect_(collect) {}

  void problem(const std::string& what) {
    if (!collect_) throw Error(Exit::checkpoint, path_ + ": " + what);
    problems_.push_back(path_ + ": " + what);
  }
  // Runs step; a failed HDF5 call inside becomes a problem about `what`.
  template <typename Step>
  void attempt(const std::string& what, Step&& step) {
    try {
      step();
    } catch (const h5::Failure& e) {
      problem(what + ": " + e.what());
    }
  }
  const std::string& path() const { return path_; }
  std::vector<std::string>& problems() { return problems_; }
  std::size_t datasets = 0;
  std::uint64_t file_size = 0;  // bytes on disk: no dataset can store more

 private:
  std::string path_;
  bool collect_;
  std::vector<std::string> problems_;
};

// The values of one dataset, or nothing after recording a problem. `expected`: the shape
// required, or nothing for any 1-D shape.
template <typename T>
std::optional<std::vector<T>> read_values(Reader& r, hid_t file, const std::string& path,
                                          const std::optional<std::vector<hsize_t>>& expected,
                                          bool finite) {
  const std::string what = "dataset " + path;
  std::optional<std::vector<T>> result;
  r.attempt(what, [&] {
    if (!h5::exists(file, path)) return r.problem(what + ": missing");
    ++r.datasets;
    const h5::Dataset dataset{FMNIST_H5(H5Dopen2(file, path.c_str(), H5P_DEFAULT))};
    const h5::DatasetInfo info = h5::dataset_info(dataset.get());
    if (info.type_class != H5T_FLOAT) return r.problem(what + ": not floating point");
    if (!info.fletcher32) return r.problem(what + ": no Fletcher32 checksum");
    if (expected ? info.dims != *expected : info.dims.size() != 1) {
      return r.problem(what + ": shape " + shape_text(info.dims) + ", expected " +
                       (expected ? shape_text(*expected) : "1-D"));
    }
    std::optional<std::string> storage = limits::storage_problem(info, r.file_size);
    if (!storage) storage = limits::chunk_problem(info, h5::chunk_layout(dataset.get(), info.dims, limits::kMaxChunks), r.file_size);
    if (storage) return r.problem(what + ": " + *storage);
    std::size_t count = 1;
    for (hsize_t d : info.dims) count *= d;
    std::vector<T> values;
    try {
      values = h5::read_dataset<T>(dataset.get(), count);
    } catch (const h5::Failure&) {
      return r.problem(what + ": checksum mismatch (Fletcher32) or unreadable");
    }
    for (std::size_t i = 0; finite && i < values.size(); ++i) {
      if (!std::isfinite(values[i])) {
        return r.problem(what + ": non-finite value " + std::to_string(values[i]) + " at element " +
                         std::to_string(i));
      }
    }
    result = std::move(values);
  });
  return result;
}

std::optional<h5::Group> open_group(Reader& r, hid_t file, const std::string& path) {
  std::optional<h5::Group> group;
  r.attempt("group " + path, [&] {
    if (!h5::exists(file, path)) return r.problem("group " + path + ": missing");
    group = h5::open_group(file, path);
  });
  return group;
}

void expect_strings(Reader& r, hid_t object, const std::string& where, const std::string& name,
                    const std::vector<std::string>& expected) {
  r.attempt(where + ": attribute " + name, [&] {
    if (h5::read_strings_attribute(object, name, limits::kMaxNames, limits::kMaxNamesBytes) != expected) {
      r.problem(where + ": attribute " + name + " does not list this model's names");
    }
  });
}

void read_model_weights(Reader& r, hid_t file, const ModelPlan& plan, std::vector<float>& weights) {
  const auto root = open_group(r, file, layout::kModelWeights);
  if (!root) return;
  expect_strings(r, root->get(), layout::kModelWeights, "layer_names", keras_layer_names(plan.spec));
  if (plan.spec.functional) {  // Keras's loader opens every group of layer_names, the InputLayer's too
    const std::string where = std::string(layout::kModelWeights) + "/" + plan.spec.input_name;
    r.attempt("group " + where, [&] {
      if (!h5::exists(file, where)) r.problem("group " + where + ": missing");
    });
  }
  for (std::size_t i = 0; i < plan.layers.size(); ++i) {
    const std::string where = layout::layer_path(plan.spec.layers[i]);
    r.attempt("group " + where, [&] {
      if (!h5::exists(file, where)) return r.problem("group " + where + ": missing");
      expect_strings(r, h5::open_group(file, where).get(), where, "weight_names", layout::weight_names(plan, i));
    });
  }
  for (const TensorSpec& t : plan.tensors) {
    const std::vector<hsize_t> shape(t.shape.begin(), t.shape.end());
    if (auto values = read_values<float>(r, file, layout::weight_path(plan, t), shape, true)) {
      std::memcpy(weights.data() + t.offset, values->data(), t.size * sizeof(float));
    }
  }
}

// The model from the root attribute model_config, or the tutorial's for files written before
// models were data; nothing when model_config is there but unusable (a problem is recorded).
std::optional<ModelSpec> read_model_spec(Reader& r, hid_t file) {
  std::optional<ModelSpec> spec;
  const std::string what = std::string("attribute ") + layout::kModelConfig;
  r.attempt(what, [&] {
    if (FMNIST_H5(H5Aexists(file, layout::kModelConfig)) == 0) {
      spec = tutorial_model_spec();
      spec->source = r.path();
      return;
    }
    const std::string text = h5::read_string_attribute(file, layout::kModelConfig, limits::kMaxConfigBytes);
    try {
      spec = parse_keras_json(text, what);
    } catch (const Error& e) {
      r.problem(e.what());
    }
  });
  if (spec) spec->source = r.path();
  return spec;
}

// The root attributes fmnist_dist_version and fmnist_dist_commit; files written before 1.0.0 have
// neither (the fields stay empty).
void read_writer(Reader& r, hid_t file, Checkpoint& ckpt) {
  for (auto [name, field] : {std::pair{layout::kWriterVersion, &ckpt.written_by_version},
                             std::pair{layout::kWriterCommit, &ckpt.written_by_commit}}) {
    r.attempt(std::string("attribute ") + name, [&] {
      if (FMNIST_H5(H5Aexists(file, name)) > 0) *field = h5::read_string_attribute(file, name, limits::kMaxTextBytes);
    });
  }
}

// /optimizer: its name, iterations and slots; false when the file has no /optimizer group.
bool read_optimizer(Reader& r, hid_t file, std::size_t num_params, OptimizerState& optimizer) {
  const auto group = open_group(r, file, layout::kOptimizer);
  if (!group) return false;
  const std::string where = layout::kOptimizer;
  r.attempt(where + ": attribute name", [&] {
    if (const auto problem =
            from_text(h5::read_string_attribute(group->get(), "name", limits::kMaxTextBytes), optimizer.kind))
      r.problem(where + ": attribute name: " + *problem);
  });
  r.attempt(where + ": attribute iterations",
            [&] { optimizer.iterations = h5::read_attribute<std::int64_t>(group->get(), "iterations"); });
  std::vector<std::string> slot_names;
  r.attempt(where + ": attribute slots", [&] {
    slot_names = h5::read_strings_attribute(group->get(), "slots", limits::kMaxSlots, limits::kMaxNamesBytes);
  });
  for (const std::string& name : slot_names) {
    const std::vector<hsize_t> shape{num_params};
    if (auto values = read_values<float>(r, file, where + "/" + name, shape, true)) {
      optimizer.slots.push_back({name, std::move(*values)});
    }
  }
  return true;
}

// Every /training attribute through visit_training_fields; an attribute that older files lack
// takes the value the table says they imply (SettingInfo::older).
void read_training(Reader& r, hid_t file, TrainingState& training) {
  const auto group = open_group(r, file, layout::kTraining);
  if (!group) return;
  visit_training_fields(training, [&](const SettingInfo& info, auto& field) {
    const std::string what = std::string(layout::kTraining) + ": attribute " + info.key;
    r.attempt(what, [&] {
      using T = std::decay_t<decltype(field)>;
      using Stored = layout::StoredType<T>;
      std::optional<std::string> problem;
      if (info.older != nullptr && FMNIST_H5(H5Aexists(group->get(), info.key)) == 0) {
        problem = from_text(info.older, field);
      } else if constexpr (std::is_same_v<Stored, std::string>) {
        problem = from_text(h5::read_string_attribute(group->get(), info.key, limits::kMaxTextBytes), field);
      } else {
        const Stored value = h5::read_attribute<Stored>(group->get(), info.key);
        field = static_cast<T>(value);
        if (std::is_integral_v<T> && static_cast<Stored>(field) != value) problem = "value " + to_text(value) + " out of range";
      }
      if (problem) r.problem(what + ": " + limits::shortened(*problem));
    });
  });
}

// /history's columns, each of `epochs` values when /training's counters were good (else any 1-D
// length, the same in all); a file written before /history/lr existed gets /training's lr for
// every epoch.
void read_history(Reader& r, hid_t file, History& history, double recorded_lr, std::optional<std::int64_t> epochs) {
  const auto group = open_group(r, file, layout::kHistory);
  if (!group) return;
  std::optional<std::vector<hsize_t>> shape;
  if (epochs) shape = std::vector<hsize_t>{static_cast<hsize_t>(*epochs)};
  std::optional<std::size_t> length;  // of the first column read
  for (const HistoryColumn& column : kHistoryColumns) {
    const std::string path = layout::history_path(column.key);
    if (column.values == &History::lr && FMNIST_H5(H5Lexists(group->get(), "lr", H5P_DEFAULT)) == 0) {
      history.lr.assign(history.loss.size(), recorded_lr);
      continue;
    }
    auto values = read_values<double>(r, file, path, shape, false);
    if (!values) continue;
    if (length && values->size() != *length) {
      r.problem("dataset " + path + ": " + std::to_string(values->size()) + " epochs, expected " +
                std::to_string(*length) + " as in the other history datasets");
    }
    if (!length) length = values->size();
    history.*column.values = std::move(*values);
  }
}

void read_evaluation(Reader& r, hid_t file, std::optional<Evaluation>& evaluation) {
  bool present = false;
  r.attempt(std::string("group ") + layout::kEvaluation, [&] { present = h5::exists(file, layout::kEvaluation); });
  if (!present) return;
  const std::string root = layout::kEvaluation;
  const std::vector<hsize_t> one{1};
  const auto loss = read_values<double>(r, file, root + "/test_loss", one, false);
  const auto accuracy = read_values<double>(r, file, root + "/test_accuracy", one, false);
  if (loss && accuracy) evaluation = Evaluation{(*loss)[0], (*accuracy)[0]};
}

std::optional<h5::File> open_checkpoint(Reader& r) {
  const std::string& path = r.path();
  if (const auto why = not_a_regular_file(path)) {
    r.problem(*why == "it is a folder, not a file" ? "is a folder, not a checkpoint file"
              : *why == "no such file"            ? *why
                                                  : *why + " (a checkpoint must be a regular file)");
    return std::nullopt;
  }
  std::error_code error;
  r.file_size = std::filesystem::file_size(path, error);
  std::optional<h5::File> file;
  r.attempt("cannot open as HDF5", [&] {
    if (!h5::is_hdf5(path)) return r.problem("not an HDF5 file");
    file = h5::open_file(path);
  });
  return file;
}

// /training, then its counters against each other; the number of completed epochs when all is
// well (the history's length), else nothing.
std::optional<std::int64_t> read_checked_training(Reader& r, hid_t file, TrainingState& training) {
  const std::size_t before = r.problems().size();
  read_training(r, file, training);  // (reading, not verifying: throws at the first problem)
  if (r.problems().size() != before) return std::nullopt;
  const std::vector<std::string> problems = limits::counter_problems(training);
  for (const std::string& p : problems) r.problem(p);
  if (!problems.empty()) return std::nullopt;
  return training.epoch;
}

// The weights of `plan`, after checking that the file is large enough to hold them at all (a
// model_config may declare any model).
void read_weights(Reader& r, hid_t file, const ModelPlan& plan, std::vector<float>& weights) {
  if (plan.num_params > r.file_size / sizeof(float)) {
    return r.problem(std::string("attribute ") + layout::kModelConfig + ": a model of " + with_commas(plan.num_params) +
                     " parameters, more than the file's " + with_commas(r.file_size) + " bytes can hold");
  }
  weights.assign(plan.num_params, 0.0f);
  read_model_weights(r, file, plan, weights);
}

Checkpoint read_all(Reader& r) {
  Checkpoint ckpt;
  const auto file = open_checkpoint(r);
  if (!file) return ckpt;
  const std::optional<ModelSpec> spec = read_model_spec(r, file->get());
  if (!spec) return ckpt;  // (verify: no shapes to check the weights against)
  ckpt.model = *spec;
  const ModelPlan plan = plan_model(ckpt.model);
  read_weights(r, file->get(), plan, ckpt.weights);
  r.attempt(std::string("attribute ") + layout::kTrainingConfig, [&] {
    if (FMNIST_H5(H5Aexists(file->get(), layout::kTrainingConfig)) > 0)
      ckpt.training_config = h5::read_string_attribute(file->get(), layout::kTrainingConfig, limits::kMaxConfigBytes);
  });
  read_writer(r, file->get(), ckpt);
  const bool has_optimizer = read_optimizer(r, file->get(), plan.num_params, ckpt.optimizer);
  const std::optional<std::int64_t> epochs = read_checked_training(r, file->get(), ckpt.training);
  if (epochs && has_optimizer && ckpt.optimizer.iterations != ckpt.training.step)
    r.problem(std::string(layout::kOptimizer) + ": attribute iterations: " + std::to_string(ckpt.optimizer.iterations) +
              " but /training step is " + std::to_string(ckpt.training.step) + " (one iteration per step)");
  read_history(r, file->get(), ckpt.history, ckpt.training.lr, epochs);
  read_evaluation(r, file->get(), ckpt.evaluation);
  return ckpt;
}

// The whole read, with allocation failures (a file still too large for this machine's memory)
// reported as a problem of the file instead of ending the program.
Checkpoint read_guarded(Reader& r) {
  try {
    return read_all(r);
  } catch (const std::bad_alloc&) {
    r.problem("too large to read into this machine's memory");
  } catch (const std::length_error&) {
    r.problem("too large to read into this machine's memory");
  }
  return {};
}

}  // namespace

Checkpoint read_checkpoint(const std::string& path) {
  Reader reader(path, false);
  return read_guarded(reader);
}

CheckpointSummary read_checkpoint_summary(const std::string& path) {
  Reader reader(path, false);
  CheckpointSummary summary;
  const auto file = open_checkpoint(reader);
  read_checked_training(reader, file->get(), summary.training);
  reader.attempt(std::string("group ") + layout::kEvaluation,
                 [&] { summary.evaluated = h5::exists(file->get(), layout::kEvaluation); });
  return summary;
}

std::vector<std::string> verify_checkpoint(const std::string& path, std::size_t* datasets_checked) {
  Reader reader(path, true);
  read_guarded(reader);
  if (datasets_checked != nullptr) *datasets_checked = reader.datasets;
  return std::move(reader.problems());
}

}  // namespace fmnist
