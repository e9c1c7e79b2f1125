// In-memory image classification datasets: MNIST and Fashion-MNIST (IDX files), Omniglot (zips
// of PNGs, io/datasets/omniglot.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/status.h"

namespace engram {

// A labelled image dataset held as raw 8-bit pixels. Images are rows x cols, one channel,
// row-major, stored one after another; labels are one byte each, < num_classes.
struct ImageDataset {
  std::string name;        // "mnist", "fashion-mnist", ...
  std::string source_dir;  // where the files were read from (for reports)
  int64_t rows = 0;
  int64_t cols = 0;
  int num_classes = 0;
  std::vector<uint8_t> train_x, train_y, test_x, test_y;
  // Optional per-class metadata (empty for MNIST and Fashion-MNIST). Omniglot fills all three:
  // class_names[k] = "Alphabet/characterNN", class_group[k] = index of k's alphabet in
  // group_names, and each group's classes are contiguous, groups in group_names order.
  std::vector<std::string> class_names;
  std::vector<int> class_group;
  std::vector<std::string> group_names;

  size_t pixels_per_image() const { return static_cast<size_t>(rows * cols); }
  size_t train_size() const { return train_y.size(); }
  size_t test_size() const { return test_y.size(); }
  // Pointer to the first pixel of image i of the train (or test) split; i < that split's size.
  const uint8_t* image(bool train, size_t i) const {
    return (train ? train_x : test_x).data() + i * pixels_per_image();
  }
};

// Names accepted by load_dataset.
const std::vector<std::string>& known_datasets();

// The directories load_dataset tries for `name`, in order (see load_dataset).
std::vector<std::string> dataset_search_path(const std::string& name,
                                             const std::string& dir_override = "");

// Loads "mnist" or "fashion-mnist" (10 classes, 28x28) from the four standard IDX files
// (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
// t10k-labels-idx1-ubyte; each either .gz or raw), or "omniglot" (28x28, one class per
// character, alphabets as groups) from its zips (io/datasets/omniglot.h).
//
// Where: if dir_override is non-empty it is the only directory tried (an explicit choice that
// is wrong must not silently fall back to other data). Otherwise the first existing of
//   mnist:         $ENGRAM_DATA_DIR/mnist, <install prefix>/share/engram/data/mnist,
//                  <source tree>/data/mnist
//   fashion-mnist: $ENGRAM_DATA_DIR/fashion-mnist, /usr/share/datasets/fashion-mnist
//                  (Debian package dataset-fashion-mnist)
//   omniglot:      $ENGRAM_DATA_DIR/omniglot, <install prefix>/share/engram/data/omniglot,
//                  <source tree>/data/omniglot
// A directory "exists" for this purpose when any of the four files (omniglot: of its zips) is
// in it; the others must then be there too. Omniglot's errors are load_omniglot_dir's. Errors:
// not_found (unknown name, or no directory has the files; the message lists the paths tried), or
// the reader's error for a bad file, or malformed when label counts differ from image counts, a
// label is >= num_classes, or train and test image sizes differ. Thread-safe.
Expected<ImageDataset> load_dataset(const std::string& name, const std::string& dir_override = "");

// Loads a dataset of `num_classes` classes from the four IDX files in `dir`, with the same
// validation as load_dataset. `name` only labels the result.
Expected<ImageDataset> load_idx_dataset_dir(const std::string& name, const std::string& dir,
                                            int num_classes);

}  // namespace engram
