// Discrete VAE of papers/000: c categorical latent variables of l values, Gumbel-softmax with a
// hard one-hot forward pass and straight-through gradient, tau fixed (1 by default).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "modules/association/association.h"
#include "runtime/status.h"

namespace engram {

struct DiscreteVaeConfig {
  int c = 100;                   // categorical variables
  int l = 2;                     // values per variable
  std::string arch = "mlp";      // "mlp" (dense) or "conv" (3 conv + 3 transposed conv, k=5)
  std::vector<int> hidden{256};  // mlp: hidden widths (mirrored in the decoder);
                                 // conv: one entry, the filters (0 = c*l/4 as in the paper)
  int rows = 28, cols = 28;      // image shape (one channel)
  double tau = 1.0;              // Gumbel-softmax temperature
  double kl_weight = 0.0;        // 1 = the ELBO; 0 = a discrete autoencoder (measured better)
  double distill_weight = 1.0;   // weight of the decoder distillation on stored codes
  double lr = 1e-3;              // Adam learning rate
  // Optimiser steps of the association on each batch learn() is given (the neocortex's steps
  // are not affected): an association that sees each observation once can learn it more.
  int steps = 1;
  // How the weights are kept at rest: "f32", or "int8" (modules/common/int8_weights.h): each
  // consolidation rounds the encoder and decoder to int8 with one f32 scale per row and keeps
  // the frozen decoder that recalls stored codes in that form (snapshots store it so). Between
  // consolidations learning works on f32 working copies. Weight bytes count the int8 form.
  std::string weights = "f32";
  uint64_t seed = 1;
  std::string device = "cpu";
};

// Checks ranges (c >= 1, l >= 2, widths, arch name, image shape, steps in [1, 1000]) and names
// the offending field.
Status validate(const DiscreteVaeConfig& config);

class DiscreteVae final : public Association {
 public:
  // Builds the networks with weights drawn from torch's global generator seeded by config.seed
  // (so construct on one thread at a time). Errors: invalid config, unavailable device.
  static Expected<std::unique_ptr<DiscreteVae>> create(const DiscreteVaeConfig& config);
  ~DiscreteVae() override;

  std::string kind() const override { return "dvae"; }
  CodeShape code_shape() const override;
  at::Tensor learn(const at::Tensor& x, const at::Tensor& stored_codes, const at::Tensor& recalled,
                   AssociationStats* stats) override;
  Status set_gradient_sync(std::shared_ptr<GradientSync> sync) override;
  at::Tensor encode(const at::Tensor& x) override;
  at::Tensor recall(const at::Tensor& codes) override;
  at::Tensor decode_live(const at::Tensor& codes) override;
  void consolidate() override;
  int64_t decoder_weight_bytes() const override;
  int64_t weight_bytes() const override;
  // Encoder and decoder: both are needed, one to encode new observations, one to recall.
  int64_t memory_weight_bytes() const override { return weight_bytes(); }
  std::string save_state() const override;
  Status load_state(const std::string& bytes) override;

 private:
  struct Impl;
  explicit DiscreteVae(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  // One optimiser step of learn(); returns whether it was applied.
  bool learn_step(const at::Tensor& x, const at::Tensor& stored_codes, const at::Tensor& recalled,
                  AssociationStats* stats, at::Tensor* codes);
};

}  // namespace engram
