// Distillation towards a teacher's soft outputs (Hinton et al.): the loss soft targets of
// replay and LwF both use.
#pragma once

#include <ATen/core/Tensor.h>

namespace engram {

// T^2 KL(softmax(teacher/T) || softmax(student/T)), averaged over the batch, over the classes
// marked in `classes` ([K], bool). student and teacher are logits [B, K]; the gradient flows to
// the student only if the teacher has none. `classes` must mark at least one class.
// (LwF, Li & Hoiem: the old classes' outputs only.)
at::Tensor soft_target_loss(const at::Tensor& student, const at::Tensor& teacher,
                            const at::Tensor& classes, double temperature);

// The same KL with the student's softmax over `teacher_classes` or `student_classes` (both
// [K], bool) and the teacher's target putting zero probability on the classes it does not know.
// For replay in class-incremental learning: a recollection of an old class is also pulled away
// from the classes learned since, as a hard label pulls it; over the teacher's classes alone
// the new classes' outputs would be free to take old examples over. `teacher_classes` must mark
// at least one class.
at::Tensor soft_target_loss(const at::Tensor& student, const at::Tensor& teacher,
                            const at::Tensor& teacher_classes, const at::Tensor& student_classes,
                            double temperature);

}  // namespace engram
