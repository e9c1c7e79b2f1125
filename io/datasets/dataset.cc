#include "io/datasets/dataset.h"

#include <sys/stat.h>

#include <cstdlib>

#include "io/datasets/idx_reader.h"
#include "io/datasets/omniglot.h"

#ifndef ENGRAM_DATA_INSTALL_DIR
#define ENGRAM_DATA_INSTALL_DIR "/usr/local/share/engram/data"
#endif
#ifndef ENGRAM_SOURCE_DATA_DIR
#define ENGRAM_SOURCE_DATA_DIR ""
#endif

namespace engram {
namespace {

constexpr const char* kFiles[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                   "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

bool is_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// The path of one IDX file in dir: the .gz if present, else the raw name; "" if neither.
std::string find_file(const std::string& dir, const std::string& base) {
  const std::string gz = dir + "/" + base + ".gz";
  if (is_file(gz)) return gz;
  const std::string raw = dir + "/" + base;
  if (is_file(raw)) return raw;
  return "";
}

bool has_any_file(const std::string& dir) {
  for (const char* f : kFiles) {
    if (!find_file(dir, f).empty()) return true;
  }
  return false;
}

bool has_any_omniglot_zip(const std::string& dir) {
  for (const auto& f : omniglot_zip_names()) {
    if (is_file(dir + "/" + f)) return true;
  }
  return false;
}

// Checks that labels match images in count and are all < num_classes.
Status check_labels(const std::string& path, const std::vector<uint8_t>& labels,
                    int64_t image_count, const std::string& images_path, int num_classes) {
  if (static_cast<int64_t>(labels.size()) != image_count) {
    return Status(ErrorCode::malformed, path + ": " + std::to_string(labels.size()) +
                                            " labels but " + images_path + " holds " +
                                            std::to_string(image_count) + " images");
  }
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] >= num_classes) {
      return Status(ErrorCode::malformed, path + ": label " + std::to_string(labels[i]) +
                                              " of item " + std::to_string(i) + " is not < " +
                                              std::to_string(num_classes));
    }
  }
  return Status();
}

}  // namespace

const std::vector<std::string>& known_datasets() {
  static const std::vector<std::string> kNames = {"mnist", "fashion-mnist", "omniglot"};
  return kNames;
}

std::vector<std::string> dataset_search_path(const std::string& name,
                                             const std::string& dir_override) {
  if (!dir_override.empty()) return {dir_override};
  std::vector<std::string> dirs;
  const char* env = std::getenv("ENGRAM_DATA_DIR");
  if (env != nullptr && env[0] != '\0') dirs.push_back(std::string(env) + "/" + name);
  if (name == "mnist" || name == "omniglot") {
    dirs.push_back(std::string(ENGRAM_DATA_INSTALL_DIR) + "/" + name);
    if (std::string(ENGRAM_SOURCE_DATA_DIR).size() > 0) {
      dirs.push_back(std::string(ENGRAM_SOURCE_DATA_DIR) + "/" + name);
    }
  } else if (name == "fashion-mnist") {
    dirs.push_back("/usr/share/datasets/fashion-mnist");
  }
  return dirs;
}

Expected<ImageDataset> load_idx_dataset_dir(const std::string& name, const std::string& dir,
                                            int num_classes) {
  if (num_classes < 1 || num_classes > 256) {
    return Status(ErrorCode::invalid_argument,
                  "num_classes must be in [1, 256], got " + std::to_string(num_classes));
  }
  std::string paths[4];
  for (int i = 0; i < 4; ++i) {
    paths[i] = find_file(dir, kFiles[i]);
    if (paths[i].empty()) {
      return Status(ErrorCode::not_found, dir + ": " + name + " is incomplete: neither " +
                                              kFiles[i] + ".gz nor " + kFiles[i] + " exists");
    }
  }
  auto train_x = read_idx_images(paths[0]);
  if (!train_x) return train_x.status();
  auto train_y = read_idx_labels(paths[1]);
  if (!train_y) return train_y.status();
  auto test_x = read_idx_images(paths[2]);
  if (!test_x) return test_x.status();
  auto test_y = read_idx_labels(paths[3]);
  if (!test_y) return test_y.status();

  if (test_x->rows != train_x->rows || test_x->cols != train_x->cols) {
    return Status(ErrorCode::malformed, paths[2] + ": images are " + std::to_string(test_x->rows) +
                                            "x" + std::to_string(test_x->cols) + " but " +
                                            paths[0] + " has " + std::to_string(train_x->rows) +
                                            "x" + std::to_string(train_x->cols));
  }
  Status st = check_labels(paths[1], *train_y, train_x->count, paths[0], num_classes);
  if (!st.ok()) return st;
  st = check_labels(paths[3], *test_y, test_x->count, paths[2], num_classes);
  if (!st.ok()) return st;

  ImageDataset ds;
  ds.name = name;
  ds.source_dir = dir;
  ds.rows = train_x->rows;
  ds.cols = train_x->cols;
  ds.num_classes = num_classes;
  ds.train_x = std::move(train_x->pixels);
  ds.train_y = std::move(*train_y);
  ds.test_x = std::move(test_x->pixels);
  ds.test_y = std::move(*test_y);
  return ds;
}

Expected<ImageDataset> load_dataset(const std::string& name, const std::string& dir_override) {
  bool known = false;
  for (const auto& k : known_datasets()) known = known || k == name;
  if (!known) {
    std::string list;
    for (const auto& k : known_datasets()) list += (list.empty() ? "" : ", ") + k;
    return Status(ErrorCode::not_found, "unknown dataset '" + name + "' (known: " + list + ")");
  }
  const bool omniglot = name == "omniglot";
  const std::vector<std::string> dirs = dataset_search_path(name, dir_override);
  for (const auto& dir : dirs) {
    if (omniglot && has_any_omniglot_zip(dir)) return load_omniglot_dir(dir);
    if (!omniglot && has_any_file(dir)) return load_idx_dataset_dir(name, dir, 10);
  }
  std::string tried;
  for (const auto& dir : dirs) tried += "\n  " + dir;
  const std::string wanted = omniglot ? "no " + omniglot_zip_names()[0] + ", ..."
                                      : "no IDX files (" + std::string(kFiles[0]) + "[.gz], ...)";
  return Status(
      ErrorCode::not_found,
      name + ": " + wanted + " found; tried:" + tried +
          (dir_override.empty() ? "\n(set ENGRAM_DATA_DIR=<dir> to use <dir>/" + name + ")" : ""));
}

}  // namespace engram
