#include "modules/distributed/gradient_sync.h"

#include <ATen/ATen.h>

namespace engram {

GradientSync::GradientSync(std::unique_ptr<ProcessGroup> group) : group_(std::move(group)) {}
GradientSync::~GradientSync() = default;

int GradientSync::rank() const { return group_->rank(); }
int GradientSync::world_size() const { return group_->world_size(); }

Status GradientSync::broadcast_parameters(const std::vector<at::Tensor>& params) {
  at::NoGradGuard no_grad;
  for (const at::Tensor& p : params) {
    at::Tensor buffer = p.detach().cpu().contiguous().clone();
    if (Status s = group_->broadcast_from_root(buffer); !s.ok()) return s;
    p.detach().copy_(buffer);
  }
  return Status();
}

Expected<bool> GradientSync::average(const std::vector<at::Tensor>& params, const at::Tensor& loss,
                                     double weight) {
  at::NoGradGuard no_grad;
  // One flat float buffer, one all-reduce: [weight, loss check, has-gradient flags, weighted
  // gradients]. A non-finite loss or gradient anywhere makes the sum non-finite on every rank.
  const int64_t k = static_cast<int64_t>(params.size());
  int64_t numel = 0;
  for (const at::Tensor& p : params) numel += p.numel();
  at::Tensor buffer = at::zeros({2 + k + numel}, at::kFloat);
  float* head = buffer.data_ptr<float>();
  head[0] = static_cast<float>(weight);
  const bool loss_finite =
      weight == 0 || (loss.defined() && loss.detach().isfinite().all().item<bool>());
  head[1] = loss_finite ? 0.0f : std::numeric_limits<float>::quiet_NaN();
  int64_t offset = 2 + k;
  for (int64_t i = 0; i < k; ++i) {
    const at::Tensor& g = params[static_cast<size_t>(i)].grad();
    const int64_t n = params[static_cast<size_t>(i)].numel();
    if (g.defined() && weight != 0) {
      head[2 + i] = 1.0f;
      buffer.narrow(0, offset, n).copy_(g.detach().reshape({-1}).to(at::kFloat).mul(weight));
    }
    offset += n;
  }
  if (Status s = group_->all_reduce_sum(buffer); !s.ok()) return s;
  const float total = buffer.data_ptr<float>()[0];
  if (!(total > 0) || !buffer.isfinite().all().item<bool>()) return false;
  offset = 2 + k;
  for (int64_t i = 0; i < k; ++i) {
    const at::Tensor& p = params[static_cast<size_t>(i)];
    const int64_t n = p.numel();
    if (buffer.data_ptr<float>()[2 + i] > 0) {
      at::Tensor mean =
          buffer.narrow(0, offset, n).div(total).reshape(p.sizes()).to(p.options().dtype());
      if (p.grad().defined()) {
        p.mutable_grad().copy_(mean);
      } else {
        p.mutable_grad() = mean.to(p.device()).clone();  // its own storage, not a view
      }
    }
    offset += n;
  }
  return true;
}

}  // namespace engram
