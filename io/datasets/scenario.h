// Continual-learning scenarios over an ImageDataset: which examples and classes each task
// has and which input transform it applies. No torch: batches are materialized into plain
// float buffers that the learner wraps.
//
// Class-IL vs task-IL evaluation is the learner's business; each Task exposes its class
// list so that a task-IL learner can mask the outputs of the other classes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "io/datasets/dataset.h"
#include "runtime/status.h"

namespace engram {

// An input transform applied to every image of a task.
struct Transform {
  enum class Kind { none, permutation, rotation };
  Kind kind = Kind::none;
  // Kind::permutation: output pixel p takes input pixel permutation[p]; a bijection of
  // [0, rows*cols).
  std::vector<uint32_t> permutation;
  // Kind::rotation: the image is rotated counter-clockwise (as displayed, row 0 at the top)
  // by this many degrees about its centre ((cols-1)/2, (rows-1)/2), bilinear, zero fill.
  double angle_degrees = 0.0;

  static Transform identity() { return Transform(); }
  static Transform permute(std::vector<uint32_t> p);
  static Transform rotate(double degrees);
  // "none", "permutation", "rotation 45".
  std::string describe() const;
};

// One task of a scenario. train_idx / test_idx index the dataset's train / test split,
// in increasing order.
struct Task {
  int id = 0;
  std::vector<int> classes;  // the classes present in this task, increasing
  std::vector<uint32_t> train_idx, test_idx;
  Transform transform;
};

struct Scenario {
  std::string kind;  // "split", "permuted", "rotated"
  std::vector<Task> tasks;
  int num_classes = 0;  // output classes of the whole scenario (class-IL head size)
};

// Split scenario: task t holds every example whose label is in groups[t], e.g.
// {{0,1},{2,3},{4,5},{6,7},{8,9}} for Split MNIST. Errors (invalid_argument): no groups, an
// empty group, a class outside [0, num_classes), a class with no training example, or a
// class in two groups. Classes not in any group are simply unused.
Expected<Scenario> split_by_classes(const ImageDataset& ds,
                                    const std::vector<std::vector<int>>& groups);

// Split by the dataset's class groups (Omniglot: alphabets as tasks): task t holds the classes
// k with ds.class_group[k] == t, for every group of ds.group_names, in that order; otherwise as
// split_by_classes (kind "split"). Errors (invalid_argument): the dataset has no groups (e.g.
// MNIST), class_group does not give every class a group in range, or a group has no class or a
// class without training examples.
Expected<Scenario> split_by_groups(const ImageDataset& ds);

// Permuted scenario: n_tasks tasks over the whole dataset, each with its own fixed pixel
// permutation. With identity_first (the usual Permuted MNIST setup) task 0 sees the original
// images. Task t's permutation depends only on (seed, t), so it is reproducible and does not
// change when n_tasks does. Errors: n_tasks < 1, or an empty dataset.
Expected<Scenario> permuted(const ImageDataset& ds, int n_tasks, uint64_t seed,
                            bool identity_first = true);

// Rotated scenario: one task per angle (degrees, counter-clockwise) over the whole dataset.
// Errors: no angles, or a non-finite angle.
Expected<Scenario> rotated(const ImageDataset& ds, const std::vector<double>& angles);

// Checks that a task fits a dataset: indices in range, classes valid, a permutation of the
// right size that is a bijection, a finite angle. Use it once on tasks that did not come from
// the functions above; fill_images does not check.
Status validate_task(const ImageDataset& ds, const Task& task);

// Applies a transform to one rows x cols image of bytes, writing rows*cols floats in [0,1].
// The transform must be valid for that size (see validate_task).
void apply_transform(const Transform& t, int64_t rows, int64_t cols, const uint8_t* in, float* out);

// Materializes n images of the train (or test) split, given by dataset indices idx[0..n)
// (e.g. from a BatchSampler), as n*rows*cols floats in [0,1] with the task's transform
// applied. Preconditions: every idx < that split's size and the task is valid for ds.
// `out` is caller-owned. Thread-safe for distinct outputs.
void fill_images(const ImageDataset& ds, const Task& task, bool train, const uint32_t* idx,
                 size_t n, float* out);

// Writes the labels of the same n examples (int64, the dtype torch's losses want).
// Precondition: every idx < that split's size.
void fill_labels(const ImageDataset& ds, bool train, const uint32_t* idx, size_t n, int64_t* out);

}  // namespace engram
