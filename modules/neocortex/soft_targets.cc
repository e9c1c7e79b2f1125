#include "modules/neocortex/soft_targets.h"

#include <ATen/ATen.h>

namespace engram {

at::Tensor soft_target_loss(const at::Tensor& student, const at::Tensor& teacher,
                            const at::Tensor& classes, double temperature) {
  const double t = temperature;
  const at::Tensor idx = classes.nonzero().squeeze(1);
  const at::Tensor s = at::log_softmax(student.index_select(1, idx) / t, 1);
  const at::Tensor q = at::log_softmax(teacher.index_select(1, idx) / t, 1);
  return (q.exp() * (q - s)).sum(1).mean() * (t * t);
}

}  // namespace engram
