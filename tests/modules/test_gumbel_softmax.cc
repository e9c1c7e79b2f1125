// Straight-through Gumbel-softmax: hard one-hot forward, Gumbel-max sampling, reproducibility
// from the generator, the gradient of the relaxation, and codes_to_one_hot.
#include "modules/association/gumbel_softmax.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <vector>

namespace engram {
namespace {

at::Generator generator(uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

// The Gumbel noise gumbel_softmax_hard draws for `shape` from a fresh generator seeded with seed:
// one at::rand of that shape, clamped as it does. The tests check that this reproduction agrees
// with the sampled index before relying on it.
at::Tensor same_noise(at::IntArrayRef shape, uint64_t seed, const at::TensorOptions& options) {
  at::Tensor u = at::rand(shape, generator(seed), options).clamp_(1e-10, 1.0 - 1e-7);
  return -at::log(-at::log(u));
}

TEST_CASE("the forward pass is exactly one-hot along the last dim and matches index") {
  at::manual_seed(3);
  for (double tau : {0.1, 1.0, 5.0}) {
    CAPTURE(tau);
    const at::Tensor logits = at::randn({64, 10, 7}) * 3;
    GumbelSample z = gumbel_softmax_hard(logits, tau, generator(11));
    REQUIRE(z.one_hot.sizes() == logits.sizes());
    REQUIRE(z.index.sizes() == at::IntArrayRef({64, 10}));
    CHECK((z.index.scalar_type() == at::kLong));
    CHECK((z.one_hot.scalar_type() == at::kFloat));
    CHECK(z.index.min().item<int64_t>() >= 0);
    CHECK(z.index.max().item<int64_t>() < 7);
    // Every entry is exactly 0 or 1 and each variable has exactly one 1, at `index`.
    const at::Tensor v = z.one_hot.detach();
    CHECK(at::logical_or(v.eq(0), v.eq(1)).all().item<bool>());
    CHECK(v.sum(-1).eq(1).all().item<bool>());
    CHECK(at::equal(v.argmax(-1), z.index));
    CHECK(at::equal(v, at::one_hot(z.index, 7).to(at::kFloat)));
  }
}

TEST_CASE("a generator with the same seed reproduces the sample; another seed does not") {
  const at::Tensor logits = at::zeros({256, 16, 4});
  GumbelSample a = gumbel_softmax_hard(logits, 1.0, generator(42));
  GumbelSample b = gumbel_softmax_hard(logits, 1.0, generator(42));
  GumbelSample c = gumbel_softmax_hard(logits, 1.0, generator(43));
  CHECK(at::equal(a.index, b.index));
  CHECK(at::equal(a.one_hot, b.one_hot));
  CHECK_FALSE(at::equal(a.index, c.index));
  // The global generator plays no part.
  at::manual_seed(1);
  GumbelSample d = gumbel_softmax_hard(logits, 1.0, generator(42));
  at::manual_seed(2);
  GumbelSample e = gumbel_softmax_hard(logits, 1.0, generator(42));
  CHECK(at::equal(d.index, e.index));
  // One generator advances: two draws from it differ.
  at::Generator g = generator(7);
  GumbelSample f1 = gumbel_softmax_hard(logits, 1.0, g);
  GumbelSample f2 = gumbel_softmax_hard(logits, 1.0, g);
  CHECK_FALSE(at::equal(f1.index, f2.index));
}

TEST_CASE("sample frequencies approach softmax(logits) at any temperature (Gumbel-max)") {
  const at::Tensor row = at::tensor({1.5f, 0.0f, -1.0f, 0.7f, -3.0f});
  const at::Tensor p = at::softmax(row, 0);
  constexpr int64_t kDraws = 20000;
  const at::Tensor logits = row.view({1, 1, 5}).expand({kDraws, 1, 5}).contiguous();
  for (double tau : {0.5, 1.0, 3.0}) {
    CAPTURE(tau);
    GumbelSample z = gumbel_softmax_hard(logits, tau, generator(5));
    const at::Tensor freq = at::bincount(z.index.flatten(), {}, 5).to(at::kFloat) / kDraws;
    for (int k = 0; k < 5; ++k) {
      CAPTURE(k);
      // sd of a frequency <= sqrt(0.25 / 20000) = 0.0035; 0.015 is > 4 sd.
      CHECK(std::abs(freq[k].item<float>() - p[k].item<float>()) < 0.015f);
    }
  }
}

TEST_CASE("the gradient is that of the relaxation softmax((logits + g) / tau), same noise g") {
  const auto options = at::TensorOptions().dtype(at::kDouble);
  const at::Tensor base = at::tensor({0.3, -0.2, 0.9, 0.1, -1.1, 0.4}, options).view({1, 2, 3});
  const at::Tensor w = at::tensor({1.0, -2.0, 0.5, 3.0, 0.25, -1.0}, options).view({1, 2, 3});
  const double tau = 0.8;
  std::vector<at::Tensor> grads;
  for (uint64_t seed : {21u, 22u, 23u}) {
    CAPTURE(seed);
    at::Tensor logits = base.clone().requires_grad_(true);
    GumbelSample z = gumbel_softmax_hard(logits, tau, generator(seed));
    (w * z.one_hot).sum().backward();
    const at::Tensor grad = logits.grad();
    REQUIRE(grad.defined());
    // A hard one-hot alone has no gradient; the straight-through one does.
    CHECK(grad.abs().sum().item<double>() > 1e-3);

    const at::Tensor g = same_noise(base.sizes(), seed, options);
    REQUIRE(at::equal((base + g).argmax(-1), z.index));  // the reproduced noise is the noise
    auto relaxed = [&](const at::Tensor& l) {
      return (w * at::softmax((l + g) / tau, -1)).sum().item<double>();
    };
    const double h = 1e-6;
    at::Tensor numeric = at::zeros_like(base);
    for (int64_t i = 0; i < base.numel(); ++i) {
      at::Tensor up = base.clone(), down = base.clone();
      up.view(-1)[i] += h;
      down.view(-1)[i] -= h;
      numeric.view(-1)[i] = (relaxed(up) - relaxed(down)) / (2 * h);
    }
    CAPTURE(grad);
    CAPTURE(numeric);
    CHECK(at::allclose(grad, numeric, 1e-6, 1e-8));
    grads.push_back(grad);
  }
  // The gradient depends on the noise (it is not the gradient of softmax(logits / tau)).
  CHECK_FALSE(at::allclose(grads[0], grads[1]));
}

TEST_CASE("codes_to_one_hot is the inverse of argmax over each variable") {
  at::manual_seed(9);
  const int64_t b = 13, c = 6, l = 5;
  const at::Tensor codes = at::randint(0, l, {b, c}, at::kLong);
  for (at::ScalarType t : {at::kLong, at::kInt, at::kByte}) {
    at::Tensor oh = codes_to_one_hot(codes.to(t), l);
    REQUIRE(oh.sizes() == at::IntArrayRef({b, c * l}));
    CHECK((oh.scalar_type() == at::kFloat));
    CHECK(at::equal(oh.view({b, c, l}).argmax(-1), codes));
    CHECK(oh.view({b, c, l}).sum(-1).eq(1).all().item<bool>());
    CHECK(oh.sum().item<float>() == static_cast<float>(b * c));
  }
  // A sample's index encodes back to its one-hot.
  GumbelSample z = gumbel_softmax_hard(at::randn({b, c, l}), 1.0, generator(4));
  CHECK(at::equal(codes_to_one_hot(z.index, l), z.one_hot.detach().flatten(1)));
}

}  // namespace
}  // namespace engram
