#include "modules/distill/teacher.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <random>

#include "modules/distill/mnist_tensors.h"
#include "runtime/atomic_file.h"

namespace engram {

double test_accuracy(Learner& learner, const ImageDataset& ds) {
  const at::Tensor active = at::ones({ds.num_classes}, at::kBool);
  const size_t n = ds.test_size(), chunk = 1000;
  double right = 0;
  for (size_t start = 0; start < n; start += chunk) {
    std::vector<int64_t> idx;
    for (size_t i = start; i < std::min(n, start + chunk); ++i)
      idx.push_back(static_cast<int64_t>(i));
    right +=
        learner.accuracy(dataset_images(ds, false, idx), dataset_labels(ds, false, idx), active) *
        static_cast<double>(idx.size());
  }
  return n == 0 ? 0.0 : right / static_cast<double>(n);
}

Expected<Teacher> train_teacher(const ImageDataset& ds, const TeacherOptions& o,
                                const std::function<void(int, double)>& progress,
                                const TrainingProgressFn& batch_progress) {
  if (o.epochs < 0 || o.batch < 1 || !(o.lr_decay > 0 && o.lr_decay <= 1)) {
    return Status(ErrorCode::invalid_argument,
                  "teacher: epochs >= 0, batch >= 1 and lr_decay in (0, 1] required");
  }
  LearnerConfig lc;
  lc.classifier = o.net;
  lc.classifier.rows = static_cast<int>(ds.rows);
  lc.classifier.cols = static_cast<int>(ds.cols);
  lc.classifier.classes = ds.num_classes;
  lc.lr = o.lr;
  lc.seed = o.seed;
  auto learner = Learner::create(lc);
  if (!learner.ok()) return learner.status();
  Teacher t;
  t.learner = std::move(*learner);
  if (!o.cache.empty() && std::filesystem::exists(o.cache)) {
    std::string bytes;
    if (Status s = read_file(o.cache, &bytes); !s.ok()) return s;
    if (Status s = t.learner->load_state(bytes); !s.ok()) {
      return Status(s.code(), "teacher cache " + o.cache + ": " + s.message());
    }
    t.from_cache = true;
    t.test_accuracy = test_accuracy(*t.learner, ds);
    return t;
  }
  const auto start = std::chrono::steady_clock::now();
  std::mt19937_64 rng(o.seed);
  std::vector<int64_t> order = all_indices(ds.train_size());
  const at::Tensor active = at::ones({ds.num_classes}, at::kBool);
  TrainingTick tick;
  tick.epochs = o.epochs;
  tick.batches = static_cast<int64_t>(order.size()) / o.batch;
  tick.steps = tick.batches * o.epochs;
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    tick.epoch = epoch;
    tick.batch = 0;
    for (size_t b = 0; b + static_cast<size_t>(o.batch) <= order.size(); b += o.batch) {
      std::vector<int64_t> idx(order.begin() + static_cast<int64_t>(b),
                               order.begin() + static_cast<int64_t>(b) + o.batch);
      const StepStats s = t.learner->step(dataset_images(ds, true, idx),
                                          dataset_labels(ds, true, idx), {}, {}, active, 0.0);
      ++tick.batch;
      ++tick.step;
      tick.loss = s.loss_real;
      if (batch_progress) batch_progress(tick);
    }
    if (progress) progress(epoch, test_accuracy(*t.learner, ds));
    t.learner->set_learning_rate(o.lr * std::pow(o.lr_decay, epoch));
  }
  t.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  t.test_accuracy = test_accuracy(*t.learner, ds);
  if (!o.cache.empty()) {
    const std::string bytes = t.learner->save_state();
    if (Status s = write_file_atomically(o.cache, bytes.data(), bytes.size()); !s.ok()) return s;
  }
  return t;
}

}  // namespace engram
