#include "modules/association/hat_mask.h"

#include <ATen/ATen.h>
#include <torch/utils.h>

#include <algorithm>
#include <stdexcept>

namespace engram {

HatMask::HatMask(int64_t units) : units_(units) {
  if (units < 1) throw std::invalid_argument("HatMask: units must be >= 1");
  embedding_ = at::zeros({units}).set_requires_grad(true);
  stored_ = at::zeros({0, units}, at::kByte);
  cumulative_ = at::zeros({units});
}

int64_t HatMask::units() const { return units_; }
int HatMask::tasks() const { return static_cast<int>(stored_.size(0)); }
const at::Tensor& HatMask::embedding() const { return embedding_; }
at::Tensor HatMask::soft(double s) const { return at::sigmoid(embedding_ * s); }

at::Tensor HatMask::task_mask(int t) const {
  if (t < 0 || t >= tasks()) throw std::out_of_range("HatMask::task_mask: no such task");
  return stored_.select(0, t).to(at::kFloat);
}

const at::Tensor& HatMask::stored() const { return stored_; }
const at::Tensor& HatMask::cumulative() const { return cumulative_; }

int64_t HatMask::free_units() const { return units_ - cumulative_.sum().item<int64_t>(); }

int64_t HatMask::commit() {
  torch::NoGradGuard no_grad;
  const at::Tensor mask = (embedding_.detach() > 0).to(at::kByte);
  const int64_t fresh = (mask.to(at::kFloat) * (1 - cumulative_)).sum().item<int64_t>();
  stored_ = at::cat({stored_, mask.unsqueeze(0)});
  cumulative_ = at::maximum(cumulative_, mask.to(at::kFloat));
  embedding_ = at::zeros({units_}).set_requires_grad(true);
  return fresh;
}

void HatMask::grow(int64_t k) {
  if (k < 0) throw std::invalid_argument("HatMask::grow: k must be >= 0");
  torch::NoGradGuard no_grad;
  units_ += k;
  stored_ = at::cat({stored_, at::zeros({stored_.size(0), k}, at::kByte)}, 1);
  cumulative_ = at::cat({cumulative_, at::zeros({k})});
  embedding_ = at::cat({embedding_.detach(), at::zeros({k})}).contiguous().set_requires_grad(true);
}

void HatMask::compensate_gradient(double s, double s_max, double clamp) const {
  at::Tensor g = embedding_.mutable_grad();
  if (!g.defined() || !(s > 0)) return;
  torch::NoGradGuard no_grad;
  const at::Tensor e = embedding_.detach();
  const at::Tensor num = at::cosh(at::clamp(e * s, -clamp, clamp)) + 1;
  const at::Tensor den = at::cosh(e) + 1;
  g.mul_(num / den * (s_max / s));
}

void HatMask::clamp_embedding(double bound) const {
  torch::NoGradGuard no_grad;
  embedding_.clamp_(-bound, bound);
}

void HatMask::restore(const at::Tensor& stored, const at::Tensor& embedding) {
  torch::NoGradGuard no_grad;
  units_ = stored.size(1);
  stored_ = stored.to(at::kByte).contiguous();
  cumulative_ =
      stored_.size(0) > 0 ? std::get<0>(stored_.max(0)).to(at::kFloat) : at::zeros({units_});
  embedding_ = embedding.to(at::kFloat).clone().set_requires_grad(true);
}

double hat_scale(int64_t step, int64_t steps, double s_max) {
  if (steps <= 1) return s_max;
  const double f = static_cast<double>(std::min(step, steps - 1)) / static_cast<double>(steps - 1);
  return 1.0 / s_max + (s_max - 1.0 / s_max) * f;
}

at::Tensor hat_sparsity(const std::vector<at::Tensor>& soft_masks,
                        const std::vector<const HatMask*>& layers) {
  at::Tensor num = at::zeros({});
  double den = 0;
  for (size_t l = 0; l < layers.size(); ++l) {
    const at::Tensor free = 1 - layers[l]->cumulative();
    num = num + (soft_masks[l] * free).sum();
    den += free.sum().item<double>();
  }
  if (den <= 0) return at::zeros({});
  return num / den;
}

}  // namespace engram
