// The lifelong VAE of papers/002 (SUMMARY.md section A): a VAE with latent z = [z_d, z_c], z_d
// categorical with J values (straight-through Gumbel-softmax), z_c Gaussian with F dimensions,
// dense encoder and decoder (BatchNorm + ELU on every layer but the latent projection and the
// output), a Bernoulli likelihood on pixels in [0, 1].
//
// It learns a stream of distributions one after another with a student and a frozen teacher and
// nothing else: no stored data, no older models. At each transition the student becomes the
// teacher; a new student starts from its weights with fresh Adam state and fresh BatchNorm
// statistics, and J grows by one (the layers into and out of the latent are re-initialised,
// Glorot). Each step mixes real data of the current distribution with teacher samples (z_d
// uniform, z_c ~ N(0, I)); the loss is
//   -ELBO + consistency * KL(teacher(z_d|x) || student(z_d|x)) on the teacher samples
//         - mutual_info * I(z_d; x)      (batch estimate: H(mean posterior) - mean H(posterior)).
// The consistency KL runs teacher -> student: the teacher's posterior is zero-padded when J grew,
// and the reverse direction would be infinite on the padded values (the paper found forward and
// reverse equivalent, App. 7.3).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/status.h"

namespace engram {

struct LifelongVaeConfig {
  int j = 1;                          // categorical values of z_d at the start
  int f = 16;                         // Gaussian dimensions of z_c (0 = z_d only)
  std::vector<int> hidden{512, 512};  // encoder widths; the decoder mirrors them
  int rows = 28, cols = 28;           // image shape (one channel)
  double lr = 1e-3;                   // Adam learning rate
  double tau = 1.0;                   // Gumbel-softmax temperature
  double consistency = 1.0;           // weight of the consistency KL (0 = without consistency)
  double mutual_info = 1.0;           // lambda, weight of I(z_d; x)
  bool grow = true;                   // J += 1 at each transition to a new distribution
  uint64_t seed = 1;
  std::string device = "cpu";
};

// Checks ranges and names the offending field: j in [1, 4096], f in [0, 4096], hidden widths in
// [1, 16384] (at least one layer), image shape, lr > 0, tau > 0, consistency >= 0, mutual_info
// finite (NaN and infinities refused).
Status validate(const LifelongVaeConfig& config);

// One learning step, per example of the mixed batch (nats).
struct LifelongVaeStats {
  double negative_elbo = 0;   // reconstruction + kl_discrete + kl_continuous
  double reconstruction = 0;  // -log p(x|z), one sample
  double kl_discrete = 0;     // KL(q(z_d|x) || uniform(J))
  double kl_continuous = 0;   // KL(q(z_c|x) || N(0, I))
  double consistency = 0;     // KL(teacher || student) over z_d, per teacher sample
  double mutual_info = 0;     // the batch estimate of I(z_d; x)
  // The same terms over the real rows only (the first `real`), per real example: the negative
  // ELBO of the observations themselves, without the teacher's samples; 0 when real is 0.
  double real_reconstruction = 0;
  double real_kl = 0;  // kl_discrete + kl_continuous of the real rows
  int64_t real = 0, synthetic = 0;
  bool skipped = false;  // the loss or a gradient was not finite: the step was not applied
};

class LifelongVae {
 public:
  // Builds the student (weights from torch's global generator seeded by config.seed: construct
  // on one thread at a time); no teacher yet. Errors: invalid config, unavailable device.
  static Expected<std::unique_ptr<LifelongVae>> create(const LifelongVaeConfig& config);
  ~LifelongVae();
  LifelongVae(const LifelongVae&) = delete;
  LifelongVae& operator=(const LifelongVae&) = delete;

  const LifelongVaeConfig& config() const;
  int j() const;          // the student's categorical values
  int teacher_j() const;  // the teacher's (0: no teacher yet)
  bool has_teacher() const;
  // Distributions the teacher summarises: the transitions so far.
  int distributions() const;

  // Teacher samples in a batch of `batch` so that the teacher's distributions and the current
  // one are equally represented: round(batch * k / (k + 1)), k = distributions(); at most
  // batch - 1 (a batch keeps one real example); 0 without a teacher.
  int64_t synthetic_share(int64_t batch) const;

  // One Adam step on the student over the real batch x [n, P] (pixels in [0, 1], n >= 0) mixed
  // with `synthetic` teacher samples (0 without a teacher). Not applied when the loss or a
  // gradient is not finite (stats.skipped). Not thread-safe.
  LifelongVaeStats learn(const at::Tensor& x, int64_t synthetic);

  // A distribution change: the student becomes the (frozen) teacher and a new student starts
  // from its weights with fresh Adam state and BatchNorm statistics; with config.grow and
  // new_distribution, J grows by one (see the header comment).
  void transition(bool new_distribution = true);

  // n teacher samples [n, P] in [0, 1] (Bernoulli means): z_d uniform over the teacher's J,
  // z_c ~ N(0, I). Errors: no teacher (invalid_argument).
  Expected<at::Tensor> sample_teacher(int64_t n);
  // Student samples [n, P], row i with z_d fixed to values[i] (int64 [n], each < j()),
  // z_c ~ N(0, I).
  at::Tensor sample_student(const at::Tensor& values);

  // -ELBO [B] (nats) of x [B, P] under the student in evaluation mode. With `exact` the
  // expectation over z_d is exact (a sum over its J values: J decoder passes) and over z_c one
  // reparameterised sample per value; otherwise one sample of z_d ~ q(z_d|x) and of z_c (an
  // unbiased estimate of the same ELBO at the cost of one decoder pass, for validation).
  // noise_seed != 0 draws the noise from a generator seeded with it instead of the VAE's own
  // stream: the same seed gives the same noise, so two measurements of one set differ only by
  // the weights (early stopping compares them; the VAE's stream is left untouched).
  at::Tensor negative_elbo(const at::Tensor& x, bool exact = true, uint64_t noise_seed = 0);
  // argmax z_d of the student [B] (int64) on x.
  at::Tensor assign(const at::Tensor& x);
  // Fraction of x on which the student's and the teacher's argmax z_d agree. Errors: no teacher.
  Expected<double> consistency(const at::Tensor& x);

  // Bytes of one VAE's weights and BatchNorm statistics (4 per float), and of the decoder alone.
  int64_t weight_bytes() const;
  int64_t decoder_weight_bytes() const;

  // The student, teacher, Adam moments, J and the noise stream as bytes, for snapshots.
  std::string save_state() const;
  // Restores save_state() output of a VAE built with the same configuration (J may differ: it
  // grew). Checks everything first; on error (malformed, naming the part) nothing changes.
  Status load_state(const std::string& bytes);

 private:
  struct Impl;
  explicit LifelongVae(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// KL(p || q) per row between categorical distributions given as logits [B, Jp] and [B, Jq],
// Jp <= Jq: p is zero-padded to Jq values (0 * log 0 = 0). Returns [B].
at::Tensor categorical_kl_padded(const at::Tensor& p_logits, const at::Tensor& q_logits);
// KL(N(mu, exp(logvar)) || N(0, I)) per row, [B].
at::Tensor gaussian_kl_standard(const at::Tensor& mu, const at::Tensor& logvar);
// The batch estimate of I(z_d; x): H(mean_b q_b) - mean_b H(q_b), q = softmax(logits [B, J]).
at::Tensor mutual_information(const at::Tensor& logits);

}  // namespace engram
