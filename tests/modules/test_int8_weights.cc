// Int8Weights: a module's weights as int8 with per-row scales (the total-budget view's stored
// form): the rounding error, the bytes, the archive round trip, and refused archives.
#include "modules/common/int8_weights.h"

#include <ATen/ATen.h>
#include <doctest/doctest.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/utils.h>

namespace engram {
namespace {

namespace nn = torch::nn;

nn::Sequential small_net() {
  torch::manual_seed(3);
  return nn::Sequential(nn::Linear(20, 7), nn::Linear(7, 5));
}

// Largest |a - b| over all parameters of two modules of the same architecture.
double max_difference(const nn::Sequential& a, const nn::Sequential& b) {
  double worst = 0;
  const auto pa = a->parameters(), pb = b->parameters();
  for (size_t i = 0; i < pa.size(); ++i) {
    worst = std::max(worst, (pa[i] - pb[i]).abs().max().item<double>());
  }
  return worst;
}

nn::Sequential copy_of(const nn::Sequential& net) {
  return std::dynamic_pointer_cast<nn::SequentialImpl>(net->clone());
}

}  // namespace

TEST_CASE("bytes: one per weight, four per row scale and per bias") {
  nn::Sequential net = small_net();
  const int64_t expected = (20 * 7 + 4 * 7 + 4 * 7) + (7 * 5 + 4 * 5 + 4 * 5);
  CHECK(Int8Weights::bytes_of(*net) == expected);
  CHECK(Int8Weights::of(*net).bytes() == expected);
  // Kernels: one scale per slice along dim 0.
  nn::Conv2d conv(nn::Conv2dOptions(3, 8, 5));
  CHECK(Int8Weights::bytes_of(*conv) == 8 * 3 * 25 + 4 * 8 + 4 * 8);
}

TEST_CASE("apply_to rounds each weight to within half a step of its row's scale; biases exact") {
  nn::Sequential net = small_net();
  nn::Sequential rounded = copy_of(net);
  Int8Weights::of(*net).apply_to(*rounded);
  const auto before = net->named_parameters(), after = rounded->named_parameters();
  for (const auto& p : before) {
    const at::Tensor& w = p.value();
    const at::Tensor& r = *after.find(p.key());
    if (w.dim() < 2) {
      CHECK(at::equal(w, r));
      continue;
    }
    const at::Tensor step = w.abs().amax(1, true) / 127.0;
    CHECK(((w - r).abs() <= step / 2 + 1e-7).all().item<bool>());
    CHECK_FALSE(at::equal(w, r));  // random weights are not on the grid
  }
  // Rounding what is already rounded changes nothing (to float precision).
  nn::Sequential twice = copy_of(rounded);
  Int8Weights::of(*rounded).apply_to(*twice);
  CHECK(max_difference(rounded, twice) < 1e-6);
}

TEST_CASE("save and load round-trip exactly through an archive's bytes") {
  nn::Sequential net = small_net();
  const Int8Weights stored = Int8Weights::of(*net);
  TensorArchive archive;
  stored.save(archive, "frozen");
  auto parsed = TensorArchive::from_bytes(archive.to_bytes());
  REQUIRE(parsed.ok());
  auto loaded = Int8Weights::load(*parsed, "frozen", *net);
  REQUIRE_MESSAGE(loaded.ok(), loaded.status().to_string());
  CHECK(loaded->bytes() == stored.bytes());
  nn::Sequential a = copy_of(net), b = copy_of(net);
  stored.apply_to(*a);
  loaded->apply_to(*b);
  CHECK(max_difference(a, b) == 0);
  CHECK(parsed->get("frozen/0.weight", at::kChar, {7, 20}).ok());
}

TEST_CASE("load refuses a missing tensor, a wrong dtype, bad scales and -128, naming them") {
  nn::Sequential net = small_net();
  auto fresh = [&] {
    TensorArchive archive;
    Int8Weights::of(*net).save(archive, "w");
    return archive;
  };
  auto refused = [&](const TensorArchive& archive, const std::string& needle) {
    auto loaded = Int8Weights::load(archive, "w", *net);
    REQUIRE_FALSE(loaded.ok());
    CHECK(loaded.status().code() == ErrorCode::malformed);
    CHECK_MESSAGE(loaded.status().message().find(needle) != std::string::npos,
                  loaded.status().message());
  };
  TensorArchive wrong_dtype = fresh();
  wrong_dtype.put("w/0.weight", at::zeros({7, 20}));  // f32 where int8 belongs
  refused(wrong_dtype, "0.weight");
  TensorArchive negative = fresh();
  negative.put("w/1.weight.scale", -at::ones({5}));
  refused(negative, "scales of '1.weight'");
  TensorArchive nan_scale = fresh();
  nan_scale.put("w/1.weight.scale", at::full({5}, NAN));
  refused(nan_scale, "scales of '1.weight'");
  TensorArchive minus128 = fresh();
  minus128.put("w/0.weight", at::full({7, 20}, -128, at::kChar));
  refused(minus128, "-128");
  TensorArchive nan_bias = fresh();
  nan_bias.put("w/0.bias", at::full({7}, NAN));
  refused(nan_bias, "0.bias");
  TensorArchive other_key = fresh();
  auto loaded = Int8Weights::load(other_key, "absent", *net);
  CHECK_FALSE(loaded.ok());
}

}  // namespace engram
