#include "modules/association/compression_probe.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <memory>
#include <random>

#include "io/datasets/scenario.h"
#include "modules/association/discrete_vae.h"
#include "modules/association/gaussian_vae.h"

namespace engram {
namespace {

int64_t ceil_log2(int64_t l) {
  int64_t bits = 0;
  while ((int64_t{1} << bits) < l) ++bits;
  return bits;
}

// The model under test behind the probe's three operations.
struct Model {
  std::unique_ptr<DiscreteVae> dvae;
  std::unique_ptr<GaussianVae> gvae;

  // One learning step; the loss per example.
  double learn(const at::Tensor& x) {
    if (gvae) return gvae->learn(x);
    AssociationStats stats;
    (void)dvae->learn(x, at::Tensor(), at::Tensor(), &stats);
    return stats.reconstruction;
  }
  // decode(encode(x)): what a stored code gives back.
  at::Tensor reconstruct(const at::Tensor& x) {
    if (gvae) return gvae->decode(gvae->encode(x));
    return dvae->recall(dvae->encode(x));
  }
  int64_t weight_bytes() const { return gvae ? gvae->weight_bytes() : dvae->weight_bytes(); }
};

Expected<Model> build_model(const ImageDataset& ds, const CompressionProbeConfig& cfg) {
  Model m;
  if (cfg.latent == "discrete") {
    DiscreteVaeConfig d;
    d.c = cfg.c;
    d.l = cfg.l;
    d.arch = cfg.arch;
    d.hidden = cfg.hidden;
    d.rows = static_cast<int>(ds.rows);
    d.cols = static_cast<int>(ds.cols);
    d.kl_weight = 0.0;
    d.lr = cfg.lr;
    d.seed = cfg.seed;
    d.device = cfg.device;
    auto vae = DiscreteVae::create(d);
    if (!vae.ok()) return vae.status();
    m.dvae = std::move(vae).value();
  } else {
    GaussianVaeConfig g;
    g.h = cfg.h;
    g.hidden = cfg.hidden;
    g.rows = static_cast<int>(ds.rows);
    g.cols = static_cast<int>(ds.cols);
    g.kl_weight = cfg.kl_weight;
    g.lr = cfg.lr;
    g.seed = cfg.seed;
    g.device = cfg.device;
    auto vae = GaussianVae::create(g);
    if (!vae.ok()) return vae.status();
    m.gvae = std::move(vae).value();
  }
  return m;
}

// Images idx[0..n) of a split as [n, P] floats in [0,1].
at::Tensor images(const ImageDataset& ds, bool train, const uint32_t* idx, size_t n) {
  at::Tensor x = at::empty({static_cast<int64_t>(n), static_cast<int64_t>(ds.pixels_per_image())});
  fill_images(ds, Task(), train, idx, n, x.data_ptr<float>());
  return x;
}

// Mean absolute pixel error of reconstruct(x) over the first n images of a split.
double mean_l1(Model& m, const ImageDataset& ds, bool train, int64_t n) {
  constexpr int64_t kChunk = 1000;
  std::vector<uint32_t> idx;
  double sum = 0;
  for (int64_t start = 0; start < n; start += kChunk) {
    const int64_t k = std::min(kChunk, n - start);
    idx.resize(static_cast<size_t>(k));
    for (int64_t i = 0; i < k; ++i) idx[i] = static_cast<uint32_t>(start + i);
    at::Tensor x = images(ds, train, idx.data(), idx.size());
    sum += (m.reconstruct(x) - x).abs().sum(at::kDouble).item<double>();
  }
  return sum / (static_cast<double>(n) * static_cast<double>(ds.pixels_per_image()));
}

// Fisher-Yates with the generator's raw output (the same order on every standard library, unlike
// std::shuffle); the modulo bias is below 2^-40 for any split size.
void shuffle(std::vector<uint32_t>& v, std::mt19937_64& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng() % i]);
}

// Sets torch's intra-op thread count for a scope (n = 0: no change).
class ThreadScope {
 public:
  explicit ThreadScope(int n) : previous_(n > 0 ? at::get_num_threads() : 0) {
    if (n > 0) at::set_num_threads(n);
  }
  ~ThreadScope() {
    if (previous_ > 0) at::set_num_threads(previous_);
  }
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;

 private:
  int previous_;
};

Expected<CompressionResult> run(const ImageDataset& ds, const CompressionProbeConfig& cfg,
                                const TrainingProgressFn& progress) {
  auto built = build_model(ds, cfg);
  if (!built.ok()) return built.status();
  Model& model = *built;
  CompressionResult r;
  r.latent = cfg.latent;
  if (cfg.latent == "discrete") {
    r.c = cfg.c;
    r.l = cfg.l;
  } else {
    r.h = cfg.h;
  }
  r.bits_per_code = code_bits(cfg);
  r.image_bits = ds.rows * ds.cols * 8;
  r.compression = static_cast<double>(r.image_bits) / static_cast<double>(r.bits_per_code);
  const auto limit = [](int64_t wanted, size_t size) {
    const auto n = static_cast<int64_t>(size);
    return wanted > 0 ? std::min(wanted, n) : n;
  };
  r.train_examples = limit(cfg.train_examples, ds.train_size());
  r.test_examples = limit(cfg.test_examples, ds.test_size());
  r.l1_untrained = mean_l1(model, ds, false, r.test_examples);

  const int64_t batch = std::min<int64_t>(cfg.batch, r.train_examples);
  const int64_t per_epoch = (r.train_examples + batch - 1) / batch;
  const int64_t total = cfg.steps > 0 ? cfg.steps : per_epoch * cfg.epochs;
  std::vector<uint32_t> order(static_cast<size_t>(r.train_examples));
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<uint32_t>(i);
  std::mt19937_64 rng(cfg.seed);
  double loss_sum = 0;
  int64_t loss_count = 0;
  TrainingTick tick;
  tick.batches = per_epoch;
  tick.steps = total;
  tick.epochs = static_cast<int>((total + per_epoch - 1) / per_epoch);
  const auto started = std::chrono::steady_clock::now();
  for (int64_t step = 0; step < total; ++step) {
    const int64_t in_epoch = step % per_epoch;
    if (in_epoch == 0) shuffle(order, rng);
    const int64_t start = in_epoch * batch;
    const int64_t n = std::min(batch, r.train_examples - start);
    const double loss = model.learn(images(ds, true, order.data() + start, static_cast<size_t>(n)));
    if (step >= total - per_epoch) {
      loss_sum += loss;
      ++loss_count;
    }
    if (progress) {
      tick.epoch = static_cast<int>(step / per_epoch) + 1;
      tick.batch = in_epoch + 1;
      tick.step = step + 1;
      tick.loss = loss;
      progress(tick);
    }
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  r.steps = total;
  r.final_loss = loss_count > 0 ? loss_sum / static_cast<double>(loss_count) : 0.0;
  r.l1 = mean_l1(model, ds, false, r.test_examples);
  r.l1_train = mean_l1(model, ds, true, std::min(r.train_examples, r.test_examples));
  r.weight_bytes = model.weight_bytes();
  return r;
}

}  // namespace

int64_t code_bits(const CompressionProbeConfig& c) {
  if (c.latent == "discrete") return static_cast<int64_t>(c.c) * ceil_log2(c.l);
  if (c.latent == "continuous") return 32 * static_cast<int64_t>(c.h);
  return 0;
}

Status validate(const CompressionProbeConfig& c, const ImageDataset& ds) {
  const auto bad = [](const std::string& m) {
    return Status(ErrorCode::invalid_argument, "compression: " + m);
  };
  if (c.latent == "discrete") {
    if (c.c < 1) return bad("c must be >= 1");
    if (c.l < 2) return bad("l must be >= 2");
  } else if (c.latent == "continuous") {
    if (c.h < 1) return bad("h must be >= 1");
  } else {
    return bad("latent must be \"discrete\" or \"continuous\", not \"" + c.latent + "\"");
  }
  if (c.epochs < 0) return bad("epochs must be >= 0");
  if (c.steps < 0) return bad("steps must be >= 0");
  if (c.batch < 1) return bad("batch must be >= 1");
  if (!(c.lr > 0)) return bad("lr must be > 0");
  if (c.train_examples < 0 || c.test_examples < 0) {
    return bad("train_examples and test_examples must be >= 0");
  }
  if (c.threads < 0 || c.threads > 256) return bad("threads must be in [0, 256]");
  if (ds.train_size() == 0 || ds.test_size() == 0) {
    return bad("dataset \"" + ds.name + "\" needs a non-empty train and test split");
  }
  return {};
}

Expected<CompressionResult> measure_compression(const ImageDataset& ds,
                                                const CompressionProbeConfig& config,
                                                const TrainingProgressFn& progress) {
  if (Status s = validate(config, ds); !s.ok()) return s;
  ThreadScope threads(config.threads);
  try {
    return run(ds, config, progress);
  } catch (const std::exception& e) {
    return Status(ErrorCode::internal, std::string("compression: torch: ") + e.what());
  }
}

}  // namespace engram
