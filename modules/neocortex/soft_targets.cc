#include "modules/neocortex/soft_targets.h"

#include <ATen/ATen.h>

#include <cmath>

namespace engram {

at::Tensor soft_target_loss(const at::Tensor& student, const at::Tensor& teacher,
                            const at::Tensor& classes, double temperature) {
  return soft_target_loss(student, teacher, classes, classes, temperature);
}

at::Tensor soft_target_loss(const at::Tensor& student, const at::Tensor& teacher,
                            const at::Tensor& teacher_classes, const at::Tensor& student_classes,
                            double temperature) {
  const double t = temperature;
  const at::Tensor known_all = teacher_classes.to(at::kCPU, at::kBool);
  const at::Tensor idx =
      known_all.logical_or(student_classes.to(at::kCPU, at::kBool)).nonzero().squeeze(1);
  const at::Tensor unknown = known_all.index_select(0, idx).logical_not().to(student.device());
  const at::Tensor on = idx.to(student.device());
  const at::Tensor s = at::log_softmax(student.index_select(1, on) / t, 1);
  // Zero probability on the classes the teacher does not know; their log is set to 0 (any
  // finite value: it is multiplied by that zero) so no -inf meets the gradient.
  const at::Tensor log_q =
      at::log_softmax((teacher.index_select(1, on) / t).masked_fill(unknown, -INFINITY), 1)
          .masked_fill(unknown, 0.0);
  const at::Tensor q = log_q.exp().masked_fill(unknown, 0.0);
  return (q * (log_q - s)).sum(1).mean() * (t * t);
}

}  // namespace engram
