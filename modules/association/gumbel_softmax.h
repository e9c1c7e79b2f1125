// Straight-through Gumbel-softmax over c categorical variables of l values (papers/000 0.1).
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

namespace engram {

struct GumbelSample {
  at::Tensor one_hot;  // [B, c, l] float: hard one-hot in the forward pass, softmax gradient
  at::Tensor index;    // [B, c] int64: the sampled value of each variable
};

// Samples z = one_hot(argmax(logits + g)), g ~ Gumbel(0, 1), and returns it with the gradient of
// the relaxation softmax((logits + g) / tau) (straight-through estimator). logits: [B, c, l].
// Noise comes from `generator`, so concurrent actors never share a random stream.
GumbelSample gumbel_softmax_hard(const at::Tensor& logits, double tau, at::Generator generator);

// One-hot float encoding [B, c*l] of integer codes [B, c] with values in [0, l).
at::Tensor codes_to_one_hot(const at::Tensor& codes, int64_t l);

}  // namespace engram
