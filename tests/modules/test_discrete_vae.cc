// The discrete VAE association (validation, codes, learning, the frozen decoder copy, decoder
// distillation, the conv architecture, weight sizes) and the RawCodec (experience replay).
#include "modules/association/discrete_vae.h"

#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <set>
#include <vector>

#include "../io/io_test_util.h"
#include "modules/association/raw_codec.h"
#include "modules/common/tensor_archive.h"

namespace engram {
namespace {

// The first n images (pixels in [0,1], [n, 784]) of the train or test split whose label is in
// `classes`, and their labels.
std::pair<at::Tensor, at::Tensor> mnist_subset(const std::set<int>& classes, int64_t n,
                                               bool train) {
  const ImageDataset& ds = test::mnist();
  const auto& labels = train ? ds.train_y : ds.test_y;
  const int64_t p = static_cast<int64_t>(ds.pixels_per_image());
  at::Tensor x = at::empty({n, p});
  at::Tensor y = at::empty({n}, at::kLong);
  int64_t k = 0;
  for (size_t i = 0; i < labels.size() && k < n; ++i) {
    if (classes.count(labels[i]) == 0) continue;
    const uint8_t* img = ds.image(train, i);
    float* out = x.data_ptr<float>() + k * p;
    for (int64_t j = 0; j < p; ++j) out[j] = img[j] / 255.0f;
    y[k] = labels[i];
    ++k;
  }
  REQUIRE(k == n);
  return {x, y};
}

DiscreteVaeConfig small_config() {
  DiscreteVaeConfig c;
  c.c = 32;
  c.l = 2;
  c.hidden = {128};
  c.seed = 5;
  return c;
}

std::unique_ptr<DiscreteVae> make_vae(const DiscreteVaeConfig& config) {
  auto vae = DiscreteVae::create(config);
  REQUIRE_MESSAGE(vae.ok(), vae.status().to_string());
  return std::move(vae).value();
}

// Mean absolute pixel error of recall(encode(x)).
double l1(Association& a, const at::Tensor& x) {
  return (a.recall(a.encode(x)) - x).abs().mean().item<double>();
}

// `steps` learning steps on batches of `batch` rows cycling through x.
void train(Association& a, const at::Tensor& x, int steps, int64_t batch,
           const at::Tensor& stored = {}, const at::Tensor& recalled = {}) {
  const int64_t n = x.size(0);
  for (int s = 0; s < steps; ++s) {
    const int64_t start = (s * batch) % (n - batch + 1);
    (void)a.learn(x.narrow(0, start, batch), stored, recalled, nullptr);
  }
}

TEST_CASE("validate rejects bad configurations and names the field") {
  CHECK(validate(DiscreteVaeConfig()).ok());
  CHECK(validate(small_config()).ok());
  struct Bad {
    const char* what;
    void (*edit)(DiscreteVaeConfig&);
    const char* field;
  };
  const Bad bad[] = {
      {"c = 0", [](DiscreteVaeConfig& c) { c.c = 0; }, "c must"},
      {"c = -4", [](DiscreteVaeConfig& c) { c.c = -4; }, "c must"},
      {"l = 1", [](DiscreteVaeConfig& c) { c.l = 1; }, "l must"},
      {"l = 0", [](DiscreteVaeConfig& c) { c.l = 0; }, "l must"},
      {"arch", [](DiscreteVaeConfig& c) { c.arch = "transformer"; }, "arch"},
      {"hidden", [](DiscreteVaeConfig& c) { c.hidden = {0}; }, "hidden"},
      {"tau", [](DiscreteVaeConfig& c) { c.tau = 0; }, "tau"},
      {"lr", [](DiscreteVaeConfig& c) { c.lr = -1; }, "lr"},
      {"kl_weight", [](DiscreteVaeConfig& c) { c.kl_weight = -1; }, "kl_weight"},
      {"distill_weight", [](DiscreteVaeConfig& c) { c.distill_weight = -0.5; }, "distill_weight"},
      {"weights", [](DiscreteVaeConfig& c) { c.weights = "int4"; }, "weights must"},
      {"steps = 0", [](DiscreteVaeConfig& c) { c.steps = 0; }, "steps must"},
      {"steps = 1001", [](DiscreteVaeConfig& c) { c.steps = 1001; }, "steps must"},
      {"conv shape",
       [](DiscreteVaeConfig& c) {
         c.arch = "conv";
         c.rows = 32;
       },
       "conv"},
  };
  for (const Bad& b : bad) {
    CAPTURE(b.what);
    DiscreteVaeConfig c = small_config();
    b.edit(c);
    Status s = validate(c);
    CHECK(s.code() == ErrorCode::invalid_argument);
    CHECK_MESSAGE(s.message().find(b.field) != std::string::npos, s.message());
    auto created = DiscreteVae::create(c);
    CHECK_FALSE(created.ok());
  }
  DiscreteVaeConfig c = small_config();
  c.device = "tpu";
  CHECK_FALSE(DiscreteVae::create(c).ok());
}

TEST_CASE("encode gives int64 codes in [0, l); recall gives [B, 784] in [0, 1]") {
  DiscreteVaeConfig cfg = small_config();
  cfg.l = 4;
  auto vae = make_vae(cfg);
  CHECK(vae->kind() == "dvae");
  CHECK(vae->code_shape().c == 32);
  CHECK(vae->code_shape().l == 4);
  auto [x, y] = mnist_subset({0, 1, 2}, 17, false);
  at::Tensor codes = vae->encode(x);
  CHECK((codes.scalar_type() == at::kLong));
  REQUIRE(codes.sizes() == at::IntArrayRef({17, 32}));
  CHECK(codes.min().item<int64_t>() >= 0);
  CHECK(codes.max().item<int64_t>() < 4);
  // learn() returns codes of the same form.
  at::Tensor learned = vae->learn(x, {}, {}, nullptr);
  CHECK((learned.scalar_type() == at::kLong));
  CHECK(learned.sizes() == at::IntArrayRef({17, 32}));
  CHECK(learned.min().item<int64_t>() >= 0);
  CHECK(learned.max().item<int64_t>() < 4);
  at::Tensor r = vae->recall(codes);
  CHECK((r.scalar_type() == at::kFloat));
  REQUIRE(r.sizes() == at::IntArrayRef({17, 784}));
  CHECK(r.min().item<float>() >= 0.0f);
  CHECK(r.max().item<float>() <= 1.0f);
  // Arbitrary codes decode too (codes of a recollection need not come from encode).
  at::Tensor any = at::randint(0, 4, {3, 32}, at::kLong);
  CHECK(vae->decode_live(any).sizes() == at::IntArrayRef({3, 784}));
  // Same seed, same weights: deterministic construction.
  auto twin = make_vae(cfg);
  CHECK(at::equal(twin->encode(x), codes));
}

TEST_CASE("learning lowers the reconstruction error clearly and reports stats") {
  auto vae = make_vae(small_config());
  auto [x, y] = mnist_subset({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 2000, true);
  auto [xt, yt] = mnist_subset({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 500, false);
  const double before = l1(*vae, xt);
  AssociationStats first, last;
  (void)vae->learn(x.narrow(0, 0, 64), {}, {}, &first);
  train(*vae, x, 300, 64);
  (void)vae->learn(x.narrow(0, 0, 64), {}, {}, &last);
  const double after = l1(*vae, xt);
  MESSAGE("L1 before " << before << ", after 300 steps " << after);
  CHECK(after < 0.5 * before);
  CHECK(after < 0.2);
  CHECK(last.reconstruction < 0.7 * first.reconstruction);
  CHECK(first.kl >= 0);           // KL to the uniform prior; computed for stats even at kl_weight 0
  CHECK(last.distillation == 0);  // no stored codes given
}

TEST_CASE("steps = k: one learn() is k steps on the batch, as k calls of one step") {
  auto [x, y] = mnist_subset({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 64, true);
  DiscreteVaeConfig one = small_config();
  DiscreteVaeConfig five = small_config();
  five.steps = 5;
  auto a = make_vae(one);
  auto b = make_vae(five);
  at::Tensor codes_a;
  for (int k = 0; k < 5; ++k) codes_a = a->learn(x, {}, {}, nullptr);
  AssociationStats stats;
  const at::Tensor codes_b = b->learn(x, {}, {}, &stats);
  CHECK(at::equal(codes_a, codes_b));
  CHECK(at::equal(a->decode_live(codes_a), b->decode_live(codes_b)));
  CHECK_FALSE(stats.skipped);
  // And it learns more than one step does.
  auto c = make_vae(one);
  (void)c->learn(x, {}, {}, nullptr);
  CHECK(l1(*b, x) < l1(*c, x));
}

TEST_CASE("consolidate freezes a copy: recall is unchanged by learning, decode_live changes") {
  auto vae = make_vae(small_config());
  auto [x, y] = mnist_subset({0, 1}, 512, true);
  train(*vae, x, 30, 64);
  const at::Tensor codes = vae->encode(x.narrow(0, 0, 32));
  // Before the first consolidation recall uses the live decoder.
  CHECK(at::equal(vae->recall(codes), vae->decode_live(codes)));
  vae->consolidate();
  const at::Tensor frozen = vae->recall(codes);
  CHECK(at::equal(frozen, vae->decode_live(codes)));
  train(*vae, x, 20, 64);
  CHECK(at::equal(vae->recall(codes), frozen));
  const double moved = (vae->decode_live(codes) - frozen).abs().max().item<double>();
  CHECK(moved > 1e-3);
  // A new consolidation takes the current live decoder.
  vae->consolidate();
  CHECK(at::equal(vae->recall(codes), vae->decode_live(codes)));
  CHECK_FALSE(at::equal(vae->recall(codes), frozen));
}

TEST_CASE("decoder distillation keeps stored codes decoding as the frozen copy does") {
  auto [xa, ya] = mnist_subset({0, 1}, 1024, true);
  auto [xb, yb] = mnist_subset({2, 3}, 1024, true);
  double drift[2] = {0, 0};
  AssociationStats stats[2];
  for (int distill = 0; distill < 2; ++distill) {
    auto vae = make_vae(small_config());
    train(*vae, xa, 150, 64);
    vae->consolidate();
    const at::Tensor stored = vae->encode(xa.narrow(0, 0, 256));
    const at::Tensor recalled = vae->recall(stored);
    for (int s = 0; s < 150; ++s) {
      const int64_t start = (s * 64) % (1024 - 64 + 1);
      const at::Tensor xs = xb.narrow(0, start, 64);
      if (distill == 1) {
        const int64_t r = (s * 64) % (256 - 64 + 1);
        (void)vae->learn(xs, stored.narrow(0, r, 64), recalled.narrow(0, r, 64), &stats[distill]);
      } else {
        (void)vae->learn(xs, {}, {}, &stats[distill]);
      }
    }
    drift[distill] = (vae->decode_live(stored) - vae->recall(stored)).abs().mean().item<double>();
    CHECK(at::equal(vae->recall(stored), recalled));
  }
  MESSAGE("live vs frozen drift of stored codes: without distillation " << drift[0] << ", with "
                                                                        << drift[1]);
  CHECK(stats[0].distillation == 0);
  CHECK(stats[1].distillation > 0);
  CHECK(drift[1] < 0.5 * drift[0]);
}

TEST_CASE("the conv architecture trains a step and gives codes of the right shape") {
  DiscreteVaeConfig cfg;
  cfg.arch = "conv";
  cfg.c = 16;
  cfg.l = 4;
  cfg.hidden = {0};  // c*l/4 = 16 filters
  cfg.seed = 3;
  auto vae = make_vae(cfg);
  auto [x, y] = mnist_subset({7}, 8, true);
  AssociationStats stats;
  at::Tensor codes = vae->learn(x, {}, {}, &stats);
  CHECK((codes.scalar_type() == at::kLong));
  REQUIRE(codes.sizes() == at::IntArrayRef({8, 16}));
  CHECK(codes.min().item<int64_t>() >= 0);
  CHECK(codes.max().item<int64_t>() < 4);
  CHECK(std::isfinite(stats.reconstruction));
  CHECK(stats.reconstruction > 0);
  CHECK(vae->encode(x).sizes() == at::IntArrayRef({8, 16}));
  at::Tensor r = vae->recall(codes);
  CHECK(r.sizes() == at::IntArrayRef({8, 784}));
  CHECK(r.min().item<float>() >= 0.0f);
  CHECK(r.max().item<float>() <= 1.0f);
  // Distillation on stored codes works through the conv decoder too.
  (void)vae->learn(x, codes, r, &stats);
  CHECK(stats.distillation > 0);
  CHECK(vae->decoder_weight_bytes() > 0);
  CHECK(vae->decoder_weight_bytes() < vae->weight_bytes());
}

TEST_CASE("weight_bytes and decoder_weight_bytes count float32 parameters") {
  DiscreteVaeConfig cfg = small_config();  // 784 -> 128 -> 64 (c*l) and back
  auto vae = make_vae(cfg);
  const int64_t code = cfg.c * cfg.l, h = 128, p = 784;
  const int64_t encoder = (p * h + h) + (h * code + code);
  const int64_t decoder = (code * h + h) + (h * p + p);
  CHECK(vae->decoder_weight_bytes() == 4 * decoder);
  CHECK(vae->weight_bytes() == 4 * (encoder + decoder));
  CHECK(vae->decoder_weight_bytes() > 0);
  CHECK(vae->decoder_weight_bytes() <= vae->weight_bytes());
  // Consolidation's frozen copy is not counted twice.
  vae->consolidate();
  CHECK(vae->weight_bytes() == 4 * (encoder + decoder));
}

TEST_CASE("int8 weights: a quarter of the bytes, recall from the int8 form, exact snapshots") {
  DiscreteVaeConfig cfg = small_config();
  const int64_t f32_bytes = make_vae(cfg)->weight_bytes();
  cfg.weights = "int8";
  auto vae = make_vae(cfg);
  const int64_t code = cfg.c * cfg.l, h = 128, p = 784;
  // One byte per weight, four per row scale and per bias.
  const int64_t decoder = (code * h + 8 * h) + (h * p + 8 * p);
  CHECK(vae->decoder_weight_bytes() == decoder);
  CHECK(vae->memory_weight_bytes() == vae->weight_bytes());
  CHECK(vae->weight_bytes() < f32_bytes / 3);
  auto [x, y] = mnist_subset({0, 1}, 512, true);
  train(*vae, x, 60, 64);
  const at::Tensor codes = vae->encode(x.narrow(0, 0, 64));
  const at::Tensor live = vae->decode_live(codes);
  vae->consolidate();
  // Consolidation rounded the working copies: the frozen decoder and the live one agree, and
  // both differ a little from the f32 decoder before.
  const at::Tensor frozen = vae->recall(codes);
  CHECK(at::equal(frozen, vae->decode_live(codes)));
  const double moved = (frozen - live).abs().max().item<double>();
  CHECK(moved > 0);
  CHECK(moved < 0.1);
  // The snapshot stores the frozen decoder as int8 and restores it exactly.
  const std::string state = vae->save_state();
  auto archive = TensorArchive::from_bytes(state);
  REQUIRE(archive.ok());
  CHECK(archive->get("frozen/0.weight", at::kChar, {h, code}).ok());
  train(*vae, x, 5, 64);
  auto restored = make_vae(cfg);
  REQUIRE(restored->load_state(state).ok());
  CHECK(at::equal(restored->recall(codes), frozen));
  CHECK(restored->save_state() == state);
  // An f32 VAE refuses the int8 snapshot instead of misreading it.
  DiscreteVaeConfig f32 = small_config();
  CHECK_FALSE(make_vae(f32)->load_state(state).ok());
}

TEST_CASE("a learning step whose loss is not finite is skipped and reported") {
  auto vae = make_vae(small_config());
  at::Tensor x = at::rand({8, 784});
  AssociationStats stats;
  vae->learn(x, {}, {}, &stats);
  CHECK_FALSE(stats.skipped);
  // The weights, seen through the live decoder on fixed codes (the noise generator moves on).
  const at::Tensor codes = vae->encode(x);
  const at::Tensor decoded = vae->decode_live(codes);
  at::Tensor bad = x.clone();
  bad[1][5] = std::nanf("");
  vae->learn(bad, {}, {}, &stats);
  CHECK(stats.skipped);
  CHECK(at::equal(vae->decode_live(codes), decoded));
  CHECK(at::equal(vae->encode(x), codes));
  vae->learn(x, {}, {}, &stats);
  CHECK_FALSE(stats.skipped);
  CHECK_FALSE(at::equal(vae->decode_live(codes), decoded));
}

TEST_CASE("RawCodec round-trips 8-bit images exactly and quantises to 1/255") {
  RawCodec raw(784);
  CHECK(raw.kind() == "raw");
  CHECK(raw.code_shape().c == 784);
  CHECK(raw.code_shape().l == 256);
  CHECK(raw.weight_bytes() == 0);
  CHECK(raw.decoder_weight_bytes() == 0);
  auto [x, y] = mnist_subset({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 64, false);
  at::Tensor codes = raw.encode(x);
  CHECK((codes.scalar_type() == at::kLong));
  REQUIRE(codes.sizes() == at::IntArrayRef({64, 784}));
  // The codes are the original bytes.
  const ImageDataset& ds = test::mnist();
  const at::Tensor bytes =
      at::from_blob(const_cast<uint8_t*>(ds.image(false, 0)), {1, 784}, at::kByte).to(at::kLong);
  CHECK(at::equal(codes[0], bytes[0]));  // mnist_subset took test image 0 first
  at::Tensor back = raw.recall(codes);
  CHECK((back.scalar_type() == at::kFloat));
  CHECK((back - x).abs().max().item<float>() <= 1e-6f);
  CHECK(at::equal(raw.encode(back), codes));
  // learn() stores the same codes; decode_live is recall.
  CHECK(at::equal(raw.learn(x, {}, {}, nullptr), codes));
  CHECK(at::equal(raw.decode_live(codes), back));
  // Arbitrary values in [0,1] are within half a step; values outside are clamped.
  at::manual_seed(2);
  at::Tensor u = at::rand({16, 784});
  CHECK((raw.recall(raw.encode(u)) - u).abs().max().item<float>() <= 0.5f / 255 + 1e-6f);
  at::Tensor out_of_range = at::tensor({-0.5f, 1.7f, 0.5f}).view({1, 3});
  RawCodec three(3);
  CHECK(at::equal(three.encode(out_of_range), at::tensor({0, 255, 128}, at::kLong).view({1, 3})));
}

}  // namespace
}  // namespace engram
