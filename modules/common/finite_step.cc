#include "modules/common/finite_step.h"

#include <ATen/ATen.h>
#include <torch/optim/optimizer.h>

#include <fmt/format.h>

#include <stdexcept>
#include <vector>

#include "modules/common/fused_adam.h"
#include "modules/distributed/gradient_sync.h"
#include "runtime/log.h"

namespace engram {

bool step_if_finite(torch::optim::Optimizer& optimizer, const at::Tensor& loss) {
  // Summing in double cannot overflow for float gradients, so a sum is finite exactly when
  // every element is: one small reduction per tensor instead of an elementwise isfinite.
  std::vector<at::Tensor> sums{loss.detach().sum().to(at::kDouble).reshape({1})};
  for (const auto& group : optimizer.param_groups()) {
    for (const at::Tensor& p : group.params()) {
      if (p.grad().defined()) sums.push_back(p.grad().sum(at::kDouble).reshape({1}));
    }
  }
  if (at::cat(sums).isfinite().all().item<bool>()) {
    apply_optimizer_step(optimizer);
    return true;
  }
  optimizer.zero_grad();
  return false;
}

bool step_if_finite(torch::optim::Optimizer& optimizer, const at::Tensor& loss, GradientSync* sync,
                    double weight) {
  if (sync == nullptr) return step_if_finite(optimizer, loss);
  std::vector<at::Tensor> params;
  for (const auto& group : optimizer.param_groups()) {
    for (const at::Tensor& p : group.params()) params.push_back(p);
  }
  auto apply = sync->average(params, loss, weight);
  if (!apply.ok()) throw std::runtime_error(apply.status().message());
  if (*apply) {
    apply_optimizer_step(optimizer);
    return true;
  }
  optimizer.zero_grad();
  return false;
}

void log_skipped_step(const char* who, int64_t total) {
  if (total < 1 || (total & (total - 1)) != 0) return;
  log_warn(who, fmt::format("skipped a training step whose loss or gradients were not finite "
                            "(weights unchanged; {} skipped so far)",
                            total));
}

}  // namespace engram
