// The neocortex learner: a classifier trained on real batches mixed with recollections.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>

#include "modules/neocortex/classifier.h"
#include "modules/neocortex/classifier_memory.h"
#include "modules/neocortex/dense_predictor.h"
#include "runtime/status.h"

namespace engram {

class GradientSync;

struct LearnerConfig {
  ClassifierConfig classifier;
  double lr = 1e-3;                // Adam: van de Ven & Tolias' 1e-3 (betas 0.9/0.999)
  std::string optimizer = "adam";  // "adam" or "sgd" (plain: no momentum; papers/003 uses it)
  uint64_t seed = 1;
  std::string device = "cpu";
};

// How a step weighs its parts. Loss = (1 - w) CE(real) + w L(replay), w = replay_weight, where
// L(replay) = label_weight CE(replayed labels) + soft_weight T^2 KL(teacher_T || student_T), the
// teacher being the classifier at the last consolidation (soft targets need one), the KL over
// the competing classes with the teacher's zero on those it did not know. A step with
// no real batch (a consolidation phase) trains on L(replay) alone. The classifier memory, if
// any (LwF), adds its term on the real batch once a teacher exists.
struct StepWeights {
  double replay_weight = 0.5;
  double label_weight = 1;
  double soft_weight = 0;
  double temperature = 2;
};

struct StepStats {
  double loss_real = 0;
  double loss_replay = 0;
  bool skipped = false;    // the loss or a gradient was not finite: the step was not applied
  MemoryStepStats memory;  // the classifier memory's own steps after the real one (ARM)
};

class Learner {
 public:
  // Builds the classifier (weights from torch's global generator seeded with config.seed, so
  // construct on one thread at a time) and its optimiser. Errors: bad config, unavailable device.
  static Expected<std::unique_ptr<Learner>> create(const LearnerConfig& config);
  ~Learner();

  // One optimiser step on the real batch x [B, P], y [B] (int64) and, when xr is defined, the
  // replayed batch xr [R, P], yr [R]. `active` [classes] (bool) marks the output units that compete
  // (class-incremental: all classes seen so far). Loss = (1 - w) CE(real) + w CE(replay), w =
  // replay_weight (van de Ven & Tolias use w = 1 - 1/tasks_seen). A step whose loss or
  // gradients are not finite is not applied (stats.skipped; weights and optimiser unchanged).
  // Not thread-safe.
  StepStats step(const at::Tensor& x, const at::Tensor& y, const at::Tensor& xr,
                 const at::Tensor& yr, const at::Tensor& active, double replay_weight);
  // The same with targets and the classifier memory's term (see StepWeights). x may have 0 rows
  // (a consolidation phase: recollections only). After a step with real rows the classifier
  // memory, if any, may take steps of its own (ClassifierMemory::after_real_step).
  StepStats step(const at::Tensor& x, const at::Tensor& y, const at::Tensor& xr,
                 const at::Tensor& yr, const at::Tensor& active, const StepWeights& weights);

  // Per example cross-entropy [B] of x against y over the `active` units, without learning
  // (what active and diverse recall rank by).
  at::Tensor example_losses(const at::Tensor& x, const at::Tensor& y, const at::Tensor& active);

  // y [B] (int64) with every negative label (a recollection without one, from an unsupervised
  // generator) replaced by the teacher's answer on x [B, P]: its argmax over the classes it had
  // learned. y itself when no label is negative. Errors: invalid_argument when a label is
  // negative and no teacher exists yet.
  Expected<at::Tensor> label_by_teacher(const at::Tensor& x, const at::Tensor& y);

  // A consolidation boundary: the teacher becomes a frozen copy of the classifier as it is now,
  // knowing the classes trained so far (soft targets and the classifier memory use it).
  void consolidate();
  // Whether a teacher exists (some consolidation happened).
  bool has_teacher() const;
  // The part of a memory kind that lives with the classifier (LwF); null = none.
  void set_classifier_memory(std::unique_ptr<ClassifierMemory> memory);
  // Bytes the classifier memory keeps beyond the classifier (0 without one).
  int64_t memory_extra_bytes() const;

  // Fraction of x classified as y, taking the argmax over the `active` units only (task-
  // incremental evaluation passes the task's classes; class-incremental all classes seen).
  double accuracy(const at::Tensor& x, const at::Tensor& y, const at::Tensor& active);

  // Class probabilities [B, classes] for x [B, P]. With `active` ([classes], bool) the softmax
  // runs over the active units only and inactive classes get probability 0.
  at::Tensor predict(const at::Tensor& x, const at::Tensor& active = {});
  // The classifier's current weights as a one-example inference copy (dense_predictor.h) that
  // answers as predict() does. Errors: invalid_argument for a net that is not a stack of dense
  // layers with ReLU between them (net "cnn"), or weights not on the CPU.
  Expected<DensePredictor> dense_predictor() const;

  // Data-parallel learning (modules/distributed/gradient_sync.h): makes the classifier's weights
  // rank 0's, then every step (the classifier memory's too) averages its gradients over the
  // ranks through `sync`, each rank weighing its examples, so the weights stay identical. A step
  // with nothing to learn on this rank still takes part (weight 0). Call once before learning,
  // on every rank. Errors: the broadcast's (a timeout).
  Status set_gradient_sync(std::shared_ptr<GradientSync> sync);

  // Sets the Adam learning rate of every parameter group (a schedule's step). lr > 0.
  void set_learning_rate(double lr);

  int64_t weight_bytes() const;
  int classes() const;
  // Steps not applied since construction because the loss or a gradient was not finite.
  int64_t skipped_steps() const;

  // Weights and optimiser moments as bytes, for snapshots.
  std::string save_state() const;
  // Restores save_state() output of a learner built with the same configuration. Checks
  // everything first: on error (malformed, naming the part) this learner is unchanged.
  Status load_state(const std::string& bytes);

 private:
  struct Impl;
  explicit Learner(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace engram
