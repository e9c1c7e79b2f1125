// The association module: turns observations into compact codes and codes back into
// recollections (papers/000). Implementations: DiscreteVae (learned), RawCodec (the identity:
// experience replay of raw 8-bit images stored as codes of 784 variables with 256 values).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtime/status.h"

namespace engram {

class GradientSync;

struct CodeShape {
  int c = 0;  // categorical variables per code
  int l = 0;  // values per variable
};

struct AssociationStats {
  double reconstruction = 0;  // -log p(x|z) per example on the real batch (nats)
  double kl = 0;              // KL(q(z|x) || uniform) per example
  double distillation = 0;    // live vs frozen decode of stored codes, per example
  bool skipped = false;       // the loss or a gradient was not finite: the step was not applied
  bool elbo = false;          // reconstruction + kl is a negative ELBO (a variational model)
};

class Association {
 public:
  virtual ~Association() = default;

  // "dvae", "raw", ... as named in configurations.
  virtual std::string kind() const = 0;
  virtual CodeShape code_shape() const = 0;

  // One learning step on a real batch x [B, P] (pixels in [0,1]). When stored_codes [R, c] is
  // defined, also trains the live decoder to decode them to `recalled` [R, P] (the frozen copy's
  // decodes), so stored codes keep their meaning. Returns the codes of x [B, c] (int64) to store.
  // A step whose loss or gradients are not finite is not applied (stats->skipped).
  // Not thread-safe: one actor owns an association.
  virtual at::Tensor learn(const at::Tensor& x, const at::Tensor& stored_codes,
                           const at::Tensor& recalled, AssociationStats* stats) = 0;

  // learn() with the labels y [B] (int64) of the real batch x; y is undefined when x holds no
  // real data (a consolidation phase's recollections). A conditional generator (papers/004)
  // needs them; the default ignores y.
  virtual at::Tensor learn_labelled(const at::Tensor& x, const at::Tensor& y,
                                    const at::Tensor& stored_codes, const at::Tensor& recalled,
                                    AssociationStats* stats) {
    (void)y;
    return learn(x, stored_codes, recalled, stats);
  }

  // A generator whose generate() honours class_weights (a conditional one, papers/004). An
  // unconditional generator (papers/002) returns false and the session refuses samplers that
  // need classes before any message is sent.
  virtual bool generates_by_class() const { return false; }

  // Kinds without a buffer (a generator: papers/002, papers/004): n recollections x [n, P] in
  // [0, 1] and their labels y [n] (int64), classes drawn with `class_weights` (one per class;
  // empty = the generator's own choice over the classes it has learned). The default refuses:
  // kinds with a buffer recall stored codes instead.
  virtual Expected<std::pair<at::Tensor, at::Tensor>> generate(
      int64_t n, const std::vector<double>& class_weights) {
    (void)n;
    (void)class_weights;
    return Status(ErrorCode::invalid_argument,
                  "association \"" + kind() + "\" recalls stored codes; it does not generate");
  }

  // Data-parallel learning (modules/distributed/gradient_sync.h): makes the weights rank 0's,
  // then every later learning step averages its gradients over the ranks through `sync`. Call
  // once before learning, on every rank. The default refuses: an association that learns must
  // take part (one that does not, RawCodec, accepts). Errors: invalid_argument (unsupported),
  // the broadcast's (a timeout).
  virtual Status set_gradient_sync(std::shared_ptr<GradientSync> sync) {
    (void)sync;
    return Status(ErrorCode::invalid_argument,
                  "association \"" + kind() + "\" cannot learn data-parallel (world size > 1)");
  }

  // Codes [B, c] (int64) of x without learning.
  virtual at::Tensor encode(const at::Tensor& x) = 0;

  // Recollections [B, P] in [0,1] of stored codes, decoded by the frozen copy taken at the last
  // consolidation (by the live decoder before the first one).
  virtual at::Tensor recall(const at::Tensor& codes) = 0;

  // Decodes with the live decoder (to measure drift against recall()).
  virtual at::Tensor decode_live(const at::Tensor& codes) = 0;

  // Task or consolidation boundary: freeze a copy of the live decoder for recall().
  virtual void consolidate() = 0;

  // Bytes of the weights needed to decode codes (the total-budget view), 0 for RawCodec.
  virtual int64_t decoder_weight_bytes() const = 0;
  // Bytes of all weights (encoder and decoder).
  virtual int64_t weight_bytes() const = 0;
  // Bytes of the weights the memory keeps at rest in the total-budget view: those needed to
  // recall what is stored and, for a kind that encodes observations into stored codes, to
  // encode new ones. Default: the decoder's.
  virtual int64_t memory_weight_bytes() const { return decoder_weight_bytes(); }

  // The learned state (weights, the frozen decoder copy, optimiser moments, the noise
  // generator) as bytes, for snapshots. Empty for associations that learn nothing.
  virtual std::string save_state() const = 0;
  // Restores save_state() output of an association built with the same configuration. Checks
  // everything first: on error (malformed, naming the part) this association is unchanged.
  virtual Status load_state(const std::string& bytes) = 0;
};

}  // namespace engram
