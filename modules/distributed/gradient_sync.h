// The hook data-parallel learning puts between a learner's backward() and its optimiser's step():
// every rank's gradients are replaced by their mean over all ranks (weighted by the examples each
// rank learned from), so that ranks that start from the same weights keep the same weights.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <vector>

#include "modules/distributed/process_group.h"
#include "runtime/status.h"

namespace engram {

class GradientSync {
 public:
  // Owns `group`, which only this object's thread may use from now on (one learner).
  explicit GradientSync(std::unique_ptr<ProcessGroup> group);
  ~GradientSync();

  int rank() const;
  int world_size() const;

  // Overwrites every tensor of `params` (CPU or not; the values, not the autograd history) with
  // rank 0's, so that all ranks start from the same weights whatever their seeds. Call once per
  // learner, on every rank, in the same order. Errors: the collective's (process_group.h).
  Status broadcast_parameters(const std::vector<at::Tensor>& params);

  // Replaces the gradient of each tensor of `params` by the weighted mean over all ranks:
  // sum_r weight_r * grad_r / sum_r weight_r (a rank without a gradient for a tensor counts as
  // zeros; a tensor no rank has a gradient for keeps none). `loss` (may be undefined when
  // weight is 0) only has to be finite. Returns true when the step may be applied: every rank's
  // loss and gradients were finite and the total weight is positive; every rank gets the same
  // answer and the same bits. Errors: the collective's (a timeout when a rank stops or takes a
  // different number of steps).
  Expected<bool> average(const std::vector<at::Tensor>& params, const at::Tensor& loss,
                         double weight);

 private:
  std::unique_ptr<ProcessGroup> group_;
};

}  // namespace engram
