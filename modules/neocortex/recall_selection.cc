#include "modules/neocortex/recall_selection.h"

#include <ATen/ATen.h>

#include <vector>

#include "modules/distill/diverse_selection.h"

namespace engram {

Expected<at::Tensor> select_recollections(Learner& learner, const at::Tensor& xr,
                                          const at::Tensor& yr, const at::Tensor& active,
                                          int64_t keep, bool diverse) {
  if (keep < 1) return Status(ErrorCode::invalid_argument, "recall selection: keep < 1");
  at::Tensor candidates = at::arange(xr.size(0), at::kLong);
  if (diverse) {
    const int64_t thin = std::min<int64_t>(xr.size(0), 2 * keep);
    const at::Tensor features = xr.contiguous().to(at::kFloat).cpu();
    auto picked = select_msss(features.data_ptr<float>(), static_cast<size_t>(xr.size(0)),
                              static_cast<size_t>(xr.size(1)), static_cast<size_t>(thin));
    if (!picked.ok()) return picked.status();
    candidates = at::tensor(std::vector<int64_t>(picked->begin(), picked->end()), at::kLong);
  }
  const at::Tensor losses = learner.example_losses(xr.index_select(0, candidates),
                                                   yr.index_select(0, candidates), active);
  if (at::isnan(losses).any().item<bool>()) {
    return Status(ErrorCode::internal, "recall selection: a candidate's loss is NaN");
  }
  const at::Tensor hardest = std::get<1>(losses.topk(std::min<int64_t>(keep, losses.size(0))));
  return candidates.index_select(0, hardest);
}

}  // namespace engram
