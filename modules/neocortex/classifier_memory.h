// The part of a memory kind that lives with the classifier (LwF; papers/003's recall).
// The neocortex's Learner keeps the teacher: a frozen copy of the classifier taken at each
// consolidation; a ClassifierMemory adds its own terms to the learning step, and may take
// steps of its own after each real step through a ClassifierAccess (ARM's recall).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

namespace engram {

// What a classifier memory may do with the classifier after a real step; the Learner
// implements it. Not thread-safe (the Learner's thread only).
class ClassifierAccess {
 public:
  virtual ~ClassifierAccess() = default;
  // Logits [B, K] of the classifier being trained on x [B, P] (all K units, none masked). The
  // graph reaches the parameters and x (when x requires grad).
  virtual at::Tensor logits(const at::Tensor& x) = 0;
  // Whether a frozen copy exists (a consolidation or refresh_frozen() happened).
  virtual bool has_frozen() const = 0;
  // Logits [B, K] of the frozen copy (the teacher) on x; its parameters never receive
  // gradients, the graph reaches x only. Requires has_frozen().
  virtual at::Tensor frozen_logits(const at::Tensor& x) = 0;
  // [K] bool: the classes the frozen copy had been trained on. Requires has_frozen().
  virtual at::Tensor frozen_classes() const = 0;
  // The frozen copy becomes a copy of the classifier as it is now (as at a consolidation).
  virtual void refresh_frozen() = 0;
  // One optimiser step of the classifier on `loss` (a scalar built from logits()). Returns
  // false, changing nothing, when the loss or a gradient is not finite.
  virtual bool step(const at::Tensor& loss) = 0;
};

// What a memory's own steps did after a real step.
struct MemoryStepStats {
  bool stepped = false;  // a step was attempted
  bool skipped = false;  // ... and not applied (not finite)
  double loss = 0;       // its loss
};

class ClassifierMemory {
 public:
  virtual ~ClassifierMemory() = default;
  virtual std::string kind() const = 0;
  // A loss term for a step on the real batch: student_logits [B, K] (with gradient),
  // teacher_logits [B, K] (the classifier at the last consolidation, no gradient) and
  // old_classes [K] (bool: the classes the teacher had learned). Called only once a teacher
  // exists. Returns a scalar tensor, or an undefined tensor for no term.
  virtual at::Tensor real_batch_loss(const at::Tensor& student_logits,
                                     const at::Tensor& teacher_logits,
                                     const at::Tensor& old_classes) const = 0;
  // Called after each step on a real batch x [B, P], y [B] (int64) with `active` [K] (bool,
  // the competing units): the memory may take steps of its own through `classifier`.
  // Default: nothing.
  virtual MemoryStepStats after_real_step(ClassifierAccess& classifier, const at::Tensor& x,
                                          const at::Tensor& y, const at::Tensor& active) {
    (void)classifier, (void)x, (void)y, (void)active;
    return {};
  }
  // Bytes this part keeps beyond the classifier, in the total-budget view (LwF: the teacher).
  virtual int64_t extra_bytes(int64_t classifier_weight_bytes) const = 0;
  // Whether every output unit competes from the start (a plain K-way head, as papers/003's
  // code trains it) instead of only the classes seen so far. When true the Learner ignores
  // the `active` masks it is given in its steps, accuracy, predictions and example losses:
  // the real cross-entropy covers all K units, every unit counts as trained (so the teacher's
  // classes are all K) and after_real_step receives an all-true `active`. Default: false.
  virtual bool all_outputs() const { return false; }
};

}  // namespace engram
