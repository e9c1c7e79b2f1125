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

// softmax / log_softmax over the last dimension of x [..., c, l]. Same values as at::softmax(x,
// -1), computed over the transposed layout: LibTorch 1.13's CPU kernel for a short last dimension
// (l = 2) was measured 15x slower, forward and backward, than over a middle dimension.
at::Tensor softmax_last(const at::Tensor& x);
at::Tensor log_softmax_last(const at::Tensor& x);

// One-hot float encoding [B, c*l] of integer codes [B, c] with values in [0, l).
at::Tensor codes_to_one_hot(const at::Tensor& codes, int64_t l);

}  // namespace engram
