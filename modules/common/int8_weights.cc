#include "modules/common/int8_weights.h"

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/utils.h>

#include <stdexcept>

namespace engram {
namespace {

bool is_weight(const at::Tensor& t) { return t.dim() >= 2; }

Status bad(const std::string& what) { return Status(ErrorCode::malformed, what); }

// The shape of the per-slice scales broadcast against a weight of `dims` dimensions.
std::vector<int64_t> scale_view(const at::Tensor& weight) {
  std::vector<int64_t> shape(static_cast<size_t>(weight.dim()), 1);
  shape[0] = weight.size(0);
  return shape;
}

}  // namespace

Int8Weights Int8Weights::of(const torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  Int8Weights out;
  for (const auto& p : module.named_parameters(true)) {
    const at::Tensor w = p.value().detach().to(at::kCPU, at::kFloat).contiguous();
    Part part{p.key(), {}, {}};
    if (is_weight(w)) {
      part.scales = w.abs().flatten(1).amax(1) / 127.0;
      const at::Tensor divisor = part.scales.clamp_min(1e-30).view(scale_view(w));
      part.values = (w / divisor).round().clamp(-127, 127).to(at::kChar);
    } else {
      part.values = w.clone();
    }
    out.parts_.push_back(std::move(part));
  }
  return out;
}

int64_t Int8Weights::bytes_of(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters(true)) {
    n += is_weight(p) ? p.numel() + 4 * p.size(0) : 4 * p.numel();
  }
  return n;
}

int64_t Int8Weights::bytes() const {
  int64_t n = 0;
  for (const Part& p : parts_) {
    n += p.scales.defined() ? p.values.numel() + 4 * p.scales.numel() : 4 * p.values.numel();
  }
  return n;
}

void Int8Weights::apply_to(torch::nn::Module& module) const {
  torch::NoGradGuard no_grad;
  auto params = module.named_parameters(true);
  if (params.size() != parts_.size()) throw std::invalid_argument("Int8Weights: other module");
  for (const Part& part : parts_) {
    at::Tensor* dst = params.find(part.name);
    if (dst == nullptr || dst->sizes() != part.values.sizes()) {
      throw std::invalid_argument("Int8Weights: module has no parameter " + part.name +
                                  " of that shape");
    }
    at::Tensor value = part.values;
    if (part.scales.defined()) value = value.to(at::kFloat) * part.scales.view(scale_view(value));
    dst->copy_(value);
  }
}

void Int8Weights::save(TensorArchive& archive, const std::string& key) const {
  for (const Part& part : parts_) {
    archive.put(key + "/" + part.name, part.values);
    if (part.scales.defined()) archive.put(key + "/" + part.name + ".scale", part.scales);
  }
}

Expected<Int8Weights> Int8Weights::load(const TensorArchive& archive, const std::string& key,
                                        const torch::nn::Module& like) {
  Int8Weights out;
  for (const auto& p : like.named_parameters(true)) {
    const std::string name = key + "/" + p.key();
    Part part{p.key(), {}, {}};
    if (is_weight(p.value())) {
      auto values = archive.get(name, at::kChar, p.value().sizes());
      if (!values.ok()) return bad("int8 weights '" + key + "': " + values.status().message());
      auto scales = archive.get(name + ".scale", at::kFloat, {p.value().size(0)});
      if (!scales.ok()) return bad("int8 weights '" + key + "': " + scales.status().message());
      if (!scales->isfinite().all().item<bool>() || (*scales < 0).any().item<bool>()) {
        return bad("int8 weights '" + key + "': the scales of '" + p.key() +
                   "' are not finite and >= 0");
      }
      if ((*values == -128).any().item<bool>()) {
        return bad("int8 weights '" + key + "': '" + p.key() + "' holds -128 (outside +-127)");
      }
      part.values = *values;
      part.scales = *scales;
    } else {
      auto values = archive.get(name, at::kFloat, p.value().sizes());
      if (!values.ok()) return bad("int8 weights '" + key + "': " + values.status().message());
      if (!values->isfinite().all().item<bool>()) {
        return bad("int8 weights '" + key + "': '" + p.key() + "' is not finite");
      }
      part.values = *values;
    }
    out.parts_.push_back(std::move(part));
  }
  return out;
}

}  // namespace engram
