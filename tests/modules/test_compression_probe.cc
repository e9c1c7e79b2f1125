// Distortion against compression: the Gaussian (continuous-latent) VAE, measure_compression's
// code sizes and distortions on a small MNIST subset, its errors, engram.compression and
// engram.write_text in Lua.
#include "modules/association/compression_probe.h"

#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "../io/io_test_util.h"
#include "bindings/lua/engram_module.h"
#include "modules/association/gaussian_vae.h"
#include "runtime/lua_engine.h"

namespace engram {
namespace {

// The first n train images, [n, 784] in [0,1].
at::Tensor mnist_images(int64_t n) {
  const ImageDataset& ds = test::mnist();
  const auto p = static_cast<int64_t>(ds.pixels_per_image());
  at::Tensor x = at::empty({n, p});
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* img = ds.image(true, static_cast<size_t>(i));
    float* out = x.data_ptr<float>() + i * p;
    for (int64_t j = 0; j < p; ++j) out[j] = img[j] / 255.0f;
  }
  return x;
}

// A short run on a small subset: fast, and enough to move l1 well away from an untrained model.
CompressionProbeConfig small(const std::string& latent) {
  CompressionProbeConfig c;
  c.latent = latent;
  c.hidden = {128};
  c.steps = 300;
  c.batch = 64;
  c.train_examples = 3000;
  c.test_examples = 500;
  c.seed = 3;
  return c;
}

CompressionResult measure(const CompressionProbeConfig& c) {
  auto r = measure_compression(test::mnist(), c);
  REQUIRE_MESSAGE(r.ok(), r.status().to_string());
  return std::move(r).value();
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("GaussianVae: validation, shapes, and a loss that falls while learning") {
  GaussianVaeConfig bad;
  bad.h = 0;
  CHECK(contains(validate(bad).message(), "h must"));
  bad = GaussianVaeConfig();
  bad.hidden = {0};
  CHECK(contains(validate(bad).message(), "hidden"));
  bad = GaussianVaeConfig();
  bad.lr = 0;
  CHECK(contains(validate(bad).message(), "lr"));
  bad = GaussianVaeConfig();
  bad.kl_weight = -1;
  CHECK(contains(validate(bad).message(), "kl_weight"));
  CHECK_FALSE(GaussianVae::create(bad).ok());

  GaussianVaeConfig cfg;
  cfg.h = 8;
  cfg.hidden = {64};
  cfg.seed = 7;
  auto made = GaussianVae::create(cfg);
  REQUIRE_MESSAGE(made.ok(), made.status().to_string());
  GaussianVae& vae = **made;
  CHECK(vae.bits_per_code() == 256);
  CHECK(vae.weight_bytes() > vae.decoder_weight_bytes());

  const at::Tensor x = mnist_images(512);
  const at::Tensor z = vae.encode(x.narrow(0, 0, 10));
  CHECK(z.dim() == 2);
  CHECK(z.size(0) == 10);
  CHECK(z.size(1) == 8);
  CHECK((z.scalar_type() == at::kFloat));
  const at::Tensor y = vae.decode(z);
  CHECK(y.size(0) == 10);
  CHECK(y.size(1) == 784);
  CHECK(y.min().item<float>() >= 0.0f);
  CHECK(y.max().item<float>() <= 1.0f);

  GaussianVaeStats first;
  const double loss0 = vae.learn(x.narrow(0, 0, 64), &first);
  CHECK(loss0 == doctest::Approx(first.reconstruction + first.kl).epsilon(1e-4));
  CHECK(first.kl >= 0.0);
  double late = 0;
  for (int step = 0; step < 160; ++step) {
    const double loss = vae.learn(x.narrow(0, (step % 8) * 64, 64));
    if (step >= 150) late += loss / 10;
  }
  CHECK(late < 0.6 * loss0);
  // Encoding is the posterior mean: deterministic.
  CHECK(at::equal(vae.encode(x.narrow(0, 0, 4)), vae.encode(x.narrow(0, 0, 4))));
}

TEST_CASE("measure_compression: code sizes and compression ratios of the paper's rows") {
  CompressionProbeConfig c = small("discrete");
  c.c = 38;
  c.l = 2;
  CHECK(code_bits(c) == 38);
  c.c = 50;
  c.l = 18;
  CHECK(code_bits(c) == 250);
  c.c = 168;
  c.l = 2;
  CHECK(code_bits(c) == 168);
  c.c = 7;
  c.l = 3;  // ceil(log2 3) = 2
  CHECK(code_bits(c) == 14);
  c.latent = "continuous";
  c.h = 20;
  CHECK(code_bits(c) == 640);

  SUBCASE("c=50, l=18 -> 250 bits, 25.088x (only the accounting: two steps)") {
    CompressionProbeConfig d = small("discrete");
    d.c = 50;
    d.l = 18;
    d.steps = 2;
    const CompressionResult r = measure(d);
    CHECK(r.latent == "discrete");
    CHECK(r.c == 50);
    CHECK(r.l == 18);
    CHECK(r.h == 0);
    CHECK(r.bits_per_code == 250);
    CHECK(r.image_bits == 6272);
    CHECK(r.compression == doctest::Approx(25.088));
    CHECK(r.steps == 2);
    CHECK(r.train_examples == 3000);
    CHECK(r.test_examples == 500);
  }
}

TEST_CASE("measure_compression: trained models reconstruct far better than untrained ones") {
  SUBCASE("discrete c=38, l=2 -> 38 bits, 165.05x") {
    const CompressionResult r = measure(small("discrete"));
    CHECK(r.bits_per_code == 38);
    CHECK(r.compression == doctest::Approx(165.0526).epsilon(1e-4));
    CHECK(r.steps == 300);
    MESSAGE("discrete 38x2: l1 " << r.l1 << " (train " << r.l1_train << ", untrained "
                                 << r.l1_untrained << ") in " << r.seconds << " s");
    CHECK(r.l1_untrained > 0.3);
    CHECK(r.l1 < 0.5 * r.l1_untrained);
    CHECK(r.l1 < 0.2);
    CHECK(r.l1_train > 0);
    CHECK(r.seconds > 0);
    CHECK(r.weight_bytes > 0);
  }
  SUBCASE("continuous h=20 -> 640 bits, 9.8x") {
    CompressionProbeConfig c = small("continuous");
    c.h = 20;
    const CompressionResult r = measure(c);
    CHECK(r.latent == "continuous");
    CHECK(r.h == 20);
    CHECK(r.c == 0);
    CHECK(r.bits_per_code == 640);
    CHECK(r.compression == doctest::Approx(9.8));
    MESSAGE("continuous h=20: l1 " << r.l1 << " (train " << r.l1_train << ", untrained "
                                   << r.l1_untrained << ") in " << r.seconds << " s");
    CHECK(r.l1 < 0.5 * r.l1_untrained);
    CHECK(r.l1 < 0.2);
  }
}

TEST_CASE("measure_compression: epochs, determinism, example limits") {
  CompressionProbeConfig c = small("continuous");
  c.h = 4;
  c.steps = 0;
  c.epochs = 2;
  c.train_examples = 250;
  c.batch = 100;            // 3 minibatches per epoch, the last one of 50
  c.test_examples = 20000;  // more than the split: the whole split
  c.threads = 1;
  const CompressionResult a = measure(c);
  CHECK(a.steps == 6);
  CHECK(a.train_examples == 250);
  CHECK(a.test_examples == 10000);
  const CompressionResult b = measure(c);
  CHECK(a.l1 == b.l1);
  CHECK(a.final_loss == b.final_loss);
  c.seed = 4;
  CHECK(measure(c).l1 != a.l1);

  c.epochs = 0;  // no training: l1 is the untrained model's
  const CompressionResult none = measure(c);
  CHECK(none.steps == 0);
  CHECK(none.l1 == none.l1_untrained);
}

TEST_CASE("measure_compression rejects bad configurations and names the field") {
  struct Bad {
    const char* what;
    void (*edit)(CompressionProbeConfig&);
    const char* message;
  };
  const Bad bad[] = {
      {"l = 1", [](CompressionProbeConfig& c) { c.l = 1; }, "l must be >= 2"},
      {"c = 0", [](CompressionProbeConfig& c) { c.c = 0; }, "c must be >= 1"},
      {"h = 0",
       [](CompressionProbeConfig& c) {
         c.latent = "continuous";
         c.h = 0;
       },
       "h must be >= 1"},
      {"unknown latent", [](CompressionProbeConfig& c) { c.latent = "gaussian"; },
       "latent must be"},
      {"batch = 0", [](CompressionProbeConfig& c) { c.batch = 0; }, "batch"},
      {"epochs < 0", [](CompressionProbeConfig& c) { c.epochs = -1; }, "epochs"},
      {"steps < 0", [](CompressionProbeConfig& c) { c.steps = -1; }, "steps"},
      {"lr = 0", [](CompressionProbeConfig& c) { c.lr = 0; }, "lr"},
      {"test_examples < 0", [](CompressionProbeConfig& c) { c.test_examples = -1; },
       "test_examples"},
      {"bad arch", [](CompressionProbeConfig& c) { c.arch = "rnn"; }, "arch"},
      {"bad hidden", [](CompressionProbeConfig& c) { c.hidden = {-3}; }, "hidden"},
      {"threads = 1000", [](CompressionProbeConfig& c) { c.threads = 1000; }, "threads"},
  };
  for (const Bad& b : bad) {
    CAPTURE(b.what);
    CompressionProbeConfig c = small("discrete");
    b.edit(c);
    auto r = measure_compression(test::mnist(), c);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == ErrorCode::invalid_argument);
    CHECK(contains(r.status().message(), b.message));
  }
  ImageDataset empty;
  empty.rows = empty.cols = 28;
  auto r = measure_compression(empty, small("discrete"));
  REQUIRE_FALSE(r.ok());
  CHECK(contains(r.status().message(), "non-empty"));
}

TEST_CASE("engram.compression from Lua") {
  LuaEngine engine;
  Status installed = install_engram_module(engine);
  REQUIRE_MESSAGE(installed.ok(), installed.to_string());
  // The dataset is loaded once, into global ds.
  Status s = engine.run_string(
      "ds = engram.dataset(\"mnist\", \"" + test::source_mnist_dir() +
          "\")\n"
          "local r = engram.compression{dataset = ds, latent = \"continuous\", h = 20,\n"
          "  hidden = {32}, steps = 3, batch = 16, train_examples = 100, test_examples = 50}\n"
          "bits, ratio, l1, l1_untrained, steps, seconds, latent =\n"
          "  r.bits_per_code, r.compression, r.l1, r.l1_untrained, r.steps, r.seconds, r.latent\n",
      "compression.lua");
  REQUIRE_MESSAGE(s.ok(), s.to_string());
  auto global = [&](const char* name) {
    auto v = engine.get_global(name);
    REQUIRE(v.ok());
    return *v;
  };
  CHECK(std::get<int64_t>(global("bits")) == 640);
  CHECK(std::get<double>(global("ratio")) == doctest::Approx(9.8));
  CHECK(std::get<double>(global("l1")) > 0);
  CHECK(std::get<double>(global("l1_untrained")) > 0);
  CHECK(std::get<int64_t>(global("steps")) == 3);
  CHECK(std::get<double>(global("seconds")) >= 0);
  CHECK(std::get<std::string>(global("latent")) == "continuous");

  auto error = [&](const std::string& code) {
    Status e = engine.run_string(code, "compression.lua");
    REQUIRE_FALSE(e.ok());
    CHECK(e.code() == ErrorCode::script_error);
    return e.message();
  };
  CHECK(contains(error("engram.compression{latent = \"discrete\"}"), "dataset is required"));
  CHECK(contains(error("engram.compression{dataset = ds, l = 1}"), "l must be >= 2"));
  CHECK(contains(error("engram.compression{dataset = ds, latent = \"x\"}"), "latent must be"));
  CHECK(contains(error("engram.compression{dataset = ds, epoch = 3}"), "epoch"));
  CHECK(contains(error("engram.compression{dataset = 3}"), "ataset"));
}

TEST_CASE("engram.write_text writes any text atomically") {
  LuaEngine engine;
  Status installed = install_engram_module(engine);
  REQUIRE_MESSAGE(installed.ok(), installed.to_string());
  test::TempDir dir;
  const std::string path = dir.file("plot.svg");
  Status s = engine.run_string("engram.write_text(\"" + path + "\", \"<svg>\\0</svg>\\n\")",
                               "write_text.lua");
  REQUIRE_MESSAGE(s.ok(), s.to_string());
  const std::vector<uint8_t> bytes = test::read_raw(path);
  CHECK(std::string(bytes.begin(), bytes.end()) == std::string("<svg>\0</svg>\n", 13));
  Status missing = engine.run_string(
      "engram.write_text(\"" + dir.file("no/such/dir.svg") + "\", \"x\")", "write_text.lua");
  CHECK_FALSE(missing.ok());
  CHECK(contains(missing.message(), "no/such/dir.svg"));
}

}  // namespace engram
