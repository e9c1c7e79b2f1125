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
  // A NaN anywhere makes a tensor's min and max NaN and an infinity shows in one of them, so
  // both are finite exactly when every element is: one vectorised pass per tensor that neither
  // copies nor can overflow (a sum in double needed a double copy of each gradient).
  std::vector<at::Tensor> extremes{loss.detach().sum().to(at::kDouble).reshape({1})};
  for (const auto& group : optimizer.param_groups()) {
    for (const at::Tensor& p : group.params()) {
      const at::Tensor& g = p.grad();
      if (!g.defined() || g.numel() == 0) continue;
      auto [lo, hi] = at::aminmax(g);
      extremes.push_back(at::stack({lo, hi}).to(at::kDouble));
    }
  }
  if (at::cat(extremes).isfinite().all().item<bool>()) {
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
