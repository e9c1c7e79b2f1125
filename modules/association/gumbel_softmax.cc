#include "modules/association/gumbel_softmax.h"

#include <ATen/ATen.h>

namespace engram {

GumbelSample gumbel_softmax_hard(const at::Tensor& logits, double tau, at::Generator generator) {
  // u in (0, 1]: clamp keeps log(-log(u)) finite at both ends.
  at::Tensor u = at::rand(logits.sizes(), generator, logits.options()).clamp_(1e-10, 1.0 - 1e-7);
  at::Tensor gumbel = -at::log(-at::log(u));
  at::Tensor perturbed = logits + gumbel;
  at::Tensor soft = softmax_last(perturbed / tau);
  // argmax of the softmax is argmax of its (contiguous) input: tau > 0.
  at::Tensor index = perturbed.detach().argmax(-1);
  at::Tensor hard = at::one_hot(index, logits.size(-1)).to(soft.scalar_type());
  // Forward value is `hard`; the gradient is that of `soft`.
  return {hard - soft.detach() + soft, index};
}

at::Tensor softmax_last(const at::Tensor& x) {
  return at::softmax(x.transpose(-1, -2).contiguous(), -2).transpose(-1, -2);
}

at::Tensor log_softmax_last(const at::Tensor& x) {
  return at::log_softmax(x.transpose(-1, -2).contiguous(), -2).transpose(-1, -2);
}

at::Tensor codes_to_one_hot(const at::Tensor& codes, int64_t l) {
  return at::one_hot(codes.to(at::kLong), l).to(at::kFloat).flatten(1);
}

}  // namespace engram
