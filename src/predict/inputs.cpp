// The inputs of --predict (docs/predicting.md) as one ImageSet, in the order
// given: an IDX images file (labelled by the IDX labels file that follows it or lies beside it),
// a Kaggle CSV (labelled when it has the label column), a picture file, or a folder of pictures
// whose subfolders named after a class label the pictures in them.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>

#include "fmnist/error.hpp"
#include "fmnist/predict.hpp"

namespace fmnist {
namespace {

namespace fs = std::filesystem;

constexpr std::uint32_t kIdxImages = 0x803, kIdxLabels = 0x801;

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return text;
}

// Picture files by their extension: what a folder contributes, and what is never sniffed as IDX.
bool is_picture_name(const fs::path& path) {
  static const std::vector<std::string> extensions = {".png", ".jpg",  ".jpeg", ".pgm", ".ppm", ".pbm", ".pnm",
                                                      ".bmp", ".tif", ".tiff", ".webp"};
  const std::string ext = lower(path.extension().string());
  return std::find(extensions.begin(), extensions.end(), ext) != extensions.end();
}

bool is_csv_name(const std::string& path) {
  const std::string name = lower(path);
  return name.ends_with(".csv") || name.ends_with(".csv.gz");
}

// The magic of a file that may be IDX (0 for pictures and CSVs, which are told by their names).
std::uint32_t magic_of(const std::string& path) {
  std::error_code ec;
  if (is_picture_name(path) || is_csv_name(path) || !fs::is_regular_file(path, ec)) return 0;
  return idx_magic(path);
}

// Letters and digits only, lower case: "T-shirt/top", "t-shirt_top" and "TShirtTop" are one name.
std::string name_key(const std::string& name) {
  std::string key;
  for (unsigned char ch : name) {
    if (std::isalnum(ch)) key += static_cast<char>(std::tolower(ch));
  }
  return key;
}

// The class a folder name stands for (its index or its name), or -1.
int class_of_folder(const std::string& name, const std::vector<std::string>& class_names) {
  for (std::size_t c = 0; c < class_names.size(); ++c) {
    if (name == std::to_string(c) || name_key(name) == name_key(class_names[c])) return static_cast<int>(c);
  }
  return -1;
}

// "x/t10k-images-idx3-ubyte.gz" -> "x/t10k-labels-idx1-ubyte.gz" or the same without ".gz",
// whichever exists; "" when neither does or the name does not follow the IDX convention.
std::string labels_beside(const std::string& images_path) {
  const fs::path path(images_path);
  std::string name = path.filename().string();
  const auto at = name.find("images-idx3");
  if (at == std::string::npos) return "";
  name.replace(at, 11, "labels-idx1");
  std::string stem = name.ends_with(".gz") ? name.substr(0, name.size() - 3) : name;
  std::error_code ec;
  for (const std::string& candidate : {name, stem + ".gz", stem}) {
    const fs::path labels = path.parent_path() / candidate;
    if (fs::is_regular_file(labels, ec)) return labels.string();
  }
  return "";
}

// The entries of a folder, sorted by name.
std::vector<fs::path> sorted_entries(const std::string& dir) {
  std::error_code ec;
  std::vector<fs::path> entries;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) entries.push_back(it->path());
  if (ec) data_error(dir, "cannot read the folder (" + ec.message() + ")");
  std::sort(entries.begin(), entries.end());
  return entries;
}

class Reader {
 public:
  Reader(const ModelInput& input, const std::vector<std::string>& class_names, Invert invert)
      : input_(input), class_names_(class_names), invert_(invert) {}

  void add_picture(const std::string& path, int label) {
    const std::vector<std::uint8_t> pixels = read_picture(path, input_, invert_);
    set_.pixels.insert(set_.pixels.end(), pixels.begin(), pixels.end());
    set_.labels.push_back(label);
    set_.sources.push_back(path);
  }

  // IDX and CSV records are taken as they are: they must have the model's input size.
  void add_records(const std::string& path, const ImageRecords& records) {
    if (records.rows != input_.height || records.cols != input_.width || input_.channels != 1) {
      data_error(path, "holds " + std::to_string(records.rows) + "x" + std::to_string(records.cols) +
                     " grey images, but the model takes " + std::to_string(input_.height) + "x" +
                     std::to_string(input_.width) + "x" + std::to_string(input_.channels) +
                     " (IDX and CSV records are not resized)");
    }
    for (std::size_t i = 0; i < records.labels.size(); ++i) {
      if (records.labels[i] >= input_.classes) {
        data_error(path, "label " + std::to_string(records.labels[i]) + " of record " + std::to_string(i) +
                       " is out of range for the model's " + std::to_string(input_.classes) + " classes");
      }
    }
    set_.pixels.insert(set_.pixels.end(), records.pixels.begin(), records.pixels.end());
    for (std::size_t i = 0; i < records.size(); ++i) {
      set_.labels.push_back(records.labels.empty() ? -1 : records.labels[i]);
      set_.sources.push_back(path + ":" + std::to_string(i));
    }
  }

  // The pictures of a folder, by name; those of a subfolder named after a class get its label.
  void add_folder(const std::string& dir) {
    const std::size_t before = set_.size();
    for (const fs::path& entry : sorted_entries(dir)) {
      std::error_code ec;
      if (fs::is_directory(entry, ec)) {
        const int label = class_of_folder(entry.filename().string(), class_names_);
        if (label < 0) {
          std::fprintf(stderr, "fmnist_inspect: note: skipping the folder %s (not named after a class)\n",
                       entry.string().c_str());
          continue;
        }
        for (const fs::path& file : sorted_entries(entry.string())) {
          if (is_picture_name(file) && !fs::is_directory(file, ec)) add_picture(file.string(), label);
        }
      } else if (is_picture_name(entry)) {
        add_picture(entry.string(), -1);
      }
    }
    if (set_.size() == before) data_error(dir, "no pictures (PNG, JPEG, PGM, ...) in the folder or in its class subfolders");
  }

  ImageSet take() { return std::move(set_); }

 private:
  const ModelInput& input_;
  const std::vector<std::string>& class_names_;
  Invert invert_;
  ImageSet set_;
};

}  // namespace

ImageSet read_inputs(const std::vector<std::string>& inputs, const ModelInput& input, Invert invert) {
  const std::vector<std::string> names = class_names(input.classes);
  Reader reader(input, names, invert);
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const std::string& path = inputs[i];
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (!fs::exists(status)) data_error(path, "cannot open (no such file or folder)");
    if (fs::is_directory(status)) {
      reader.add_folder(path);
    } else if (is_csv_name(path)) {
      reader.add_records(path, read_csv_records(path));
    } else if (const std::uint32_t magic = magic_of(path); magic == kIdxImages) {
      const bool labels_follow = i + 1 < inputs.size() && magic_of(inputs[i + 1]) == kIdxLabels;
      const std::string labels = labels_follow ? inputs[++i] : labels_beside(path);
      reader.add_records(path, read_idx_records(path, labels));
    } else if (magic == kIdxLabels) {
      data_error(path, "an IDX labels file: give it right after its IDX images file");
    } else {
      reader.add_picture(path, -1);
    }
  }
  return reader.take();
}

}  // namespace fmnist
