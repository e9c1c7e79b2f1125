// A VAE with a continuous latent of h Gaussian variables: the paper's continuous baseline in the
// distortion-against-compression comparison (papers/000 Table 7). A code is the posterior mean,
// h floats, so it costs 32*h bits. Not an Association: nothing stores or recalls its codes.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/status.h"

namespace engram {

struct GaussianVaeConfig {
  int h = 20;                    // latent size (floats per code)
  std::vector<int> hidden{256};  // encoder widths P -> hidden... -> (mu, logvar); mirrored back
  int rows = 28, cols = 28;      // image shape (one channel)
  double kl_weight = 1.0;        // 1 = the ELBO; 0 = a plain (noisy) autoencoder
  double lr = 1e-3;              // Adam learning rate
  uint64_t seed = 1;
  std::string device = "cpu";
};

// Checks ranges (h in [1, 65536], widths in [1, 16384], image shape, lr > 0, kl_weight >= 0) and
// names the offending field.
Status validate(const GaussianVaeConfig& config);

struct GaussianVaeStats {
  double reconstruction = 0;  // binary cross-entropy per example (nats, summed over pixels)
  double kl = 0;              // KL(q(z|x) || N(0, I)) per example
  bool skipped = false;       // the loss or a gradient was not finite: the step was not applied
};

class GaussianVae {
 public:
  // Builds the networks with weights drawn from torch's global generator seeded by config.seed
  // (so construct on one thread at a time); the reparameterisation noise has its own generator
  // seeded from config.seed. Errors: invalid config, unavailable device.
  static Expected<std::unique_ptr<GaussianVae>> create(const GaussianVaeConfig& config);
  ~GaussianVae();
  GaussianVae(const GaussianVae&) = delete;
  GaussianVae& operator=(const GaussianVae&) = delete;

  const GaussianVaeConfig& config() const;
  // 32 * h: the storage cost of one code as 32-bit floats.
  int64_t bits_per_code() const;

  // One Adam step on x [B, P] (pixels in [0,1]) with z = mu + sigma * eps sampled by the
  // reparameterisation trick. Returns the loss per example (reconstruction + kl_weight * kl);
  // fills stats when given. A step whose loss or gradients are not finite is not applied
  // (stats->skipped). Not thread-safe: one owner at a time.
  double learn(const at::Tensor& x, GaussianVaeStats* stats = nullptr);

  // The code of x [B, P]: the posterior mean [B, h] (float, on the CPU). No learning.
  at::Tensor encode(const at::Tensor& x);
  // Images [B, P] in [0,1] (on the CPU) decoded from codes z [B, h].
  at::Tensor decode(const at::Tensor& z);

  // Bytes of all weights (encoder and decoder), and of the decoder alone.
  int64_t weight_bytes() const;
  int64_t decoder_weight_bytes() const;

 private:
  struct Impl;
  explicit GaussianVae(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace engram
