// The part of a memory kind that lives with the classifier (LwF; papers/003's recall later).
// The neocortex's Learner keeps the teacher: a frozen copy of the classifier taken at each
// consolidation; a ClassifierMemory adds its own terms to the learning step.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

namespace engram {

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
  // Bytes this part keeps beyond the classifier, in the total-budget view (LwF: the teacher).
  virtual int64_t extra_bytes(int64_t classifier_weight_bytes) const = 0;
};

}  // namespace engram
