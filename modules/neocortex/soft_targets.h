// Distillation towards a teacher's soft outputs (Hinton et al.): the loss soft targets of
// replay and LwF both use.
#pragma once

#include <ATen/core/Tensor.h>

namespace engram {

// T^2 KL(softmax(teacher/T) || softmax(student/T)), averaged over the batch, over the classes
// marked in `classes` ([K], bool). student and teacher are logits [B, K]; the gradient flows to
// the student only if the teacher has none. `classes` must mark at least one class.
at::Tensor soft_target_loss(const at::Tensor& student, const at::Tensor& teacher,
                            const at::Tensor& classes, double temperature);

}  // namespace engram
