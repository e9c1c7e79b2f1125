// The teacher of generative distillation (papers/000 section 3): a classifier trained on the
// real training set, whose output vectors the students learn to match on recollections.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "io/datasets/dataset.h"
#include "modules/common/training_progress.h"
#include "modules/neocortex/learner.h"
#include "runtime/status.h"

namespace engram {

struct TeacherOptions {
  ClassifierConfig net;  // defaults: the LeNet-style CNN ("cnn") of the classifier module
  int epochs = 8;
  int batch = 128;
  double lr = 1e-3;
  double lr_decay = 0.7;  // the learning rate is multiplied by this after every epoch
  uint64_t seed = 1;
  // When non-empty: load the teacher from this file if it exists (trained with the same
  // options), otherwise train it and save it there (atomically).
  std::string cache;
};

struct Teacher {
  std::unique_ptr<Learner> learner;
  double test_accuracy = 0;
  double train_seconds = 0;  // 0 when loaded from the cache
  bool from_cache = false;
};

// Test-set accuracy of `learner` (all classes compete), evaluated in chunks.
double test_accuracy(Learner& learner, const ImageDataset& ds);

// Trains (or loads, see cache) the teacher on ds's training split: `epochs` passes in shuffled
// minibatches with Adam, deterministic from seed. progress(epoch, accuracy) after each epoch
// and batch_progress after each minibatch, when set (neither is called when the teacher comes
// from the cache). Errors: bad options, a cache file that does not hold such a teacher, io
// errors.
Expected<Teacher> train_teacher(const ImageDataset& ds, const TeacherOptions& options,
                                const std::function<void(int, double)>& progress = nullptr,
                                const TrainingProgressFn& batch_progress = nullptr);

}  // namespace engram
