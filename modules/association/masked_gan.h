// The masked conditional GAN of Dynamic Generative Memory (papers/004, SUMMARY.md C.1), with
// dense layers: a generator G(y, z, M_t) = sigmoid(W_L h_{L-1} + b_L), h_l = M_t^l * lrelu(W_l
// h_{l-1} + b_l), h_0 = [z, one_hot(y)], and an AC-GAN critic (real/fake score and class logits
// on a shared trunk, no normalisation) trained with the WGAN-GP penalty (double backprop).
//
// Continual learning without stored data: every hidden layer of G carries HAT masks
// (hat_mask.h). While task t is learned its soft mask sigmoid(s e_t) gates the layer, s annealed
// to s_max over anneal_steps steps; the gradient of a weight is multiplied by (1 - min(c_out,
// c_in)) with c the cumulative masks of the units it joins (the output layer's units count as
// reserved once a task is stored, the input z always, a class's one-hot input as reserved once the
// class is learned): a weight that earlier tasks' outputs depend on never changes, and Adam moments
// of such weights are zeroed at each task's end so they stay exactly still. The generator's loss
// adds lambda * (S / S_free) * R (the sparsity regulariser over free units). At the end of a task
// (consolidate) the masks are binarised and stored, the task's classes are bound to them, each
// layer grows by the units the task newly reserved (free capacity stays constant: new units are
// masked out of every stored task, so what the stored tasks generate is unchanged), Adam's
// moments grow with the weights, and the critic is re-initialised.
//
// The critic's class head learns the real batch and, from the second task on, the generator's
// samples of earlier classes; the generator's auxiliary class loss then keeps the new class
// apart from the old ones. (engram's evaluated classifier is the neocortex; see dgm_kind.cc.)
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtime/status.h"

namespace engram {

struct MaskedGanConfig {
  int classes = 10;
  int rows = 28, cols = 28;                  // one-channel images, pixels in [0, 1]
  int nz = 128;                              // noise dimensions
  std::vector<int> hidden{256, 512};         // widths of G's masked layers at the start
  std::vector<int> critic_hidden{512, 256};  // the critic's trunk
  double lr = 0.002;                         // Adam (betas 0.5, 0.999) of G and the critic
  double s_max = 1e4;                        // the masks' final scale
  double lambda = 0.08;                      // weight of the sparsity regulariser
  double gp = 10;                            // weight of the gradient penalty
  double ac = 1;                             // weight of the auxiliary class losses (0 = none)
  int critic_steps = 1;                      // critic steps per generator step
  int64_t anneal_steps = 1000;               // steps of a task over which s reaches s_max
  double embedding_clamp = 6;                // |e| bound after each step
  bool grow = true;                          // grow each layer by the units a task reserved
  uint64_t seed = 1;
  std::string device = "cpu";
};

// Checks ranges, naming the offending field: classes in [1, 4096], image shape, nz in [1, 4096],
// widths in [1, 16384] (at least one masked layer and one critic layer), lr in (0, 10], s_max in
// [1, 1e6], lambda and ac in [0, 1e6], gp in [0, 1e6], critic_steps in [1, 100], anneal_steps in
// [1, 2^40], embedding_clamp in (0, 1e3]; NaN refused everywhere.
Status validate(const MaskedGanConfig& config);

// One learning step (per example of the batch).
struct MaskedGanStats {
  double critic = 0;      // D(fake) - D(real), the Wasserstein estimate's negative
  double penalty = 0;     // the gradient penalty
  double class_loss = 0;  // the critic's class cross-entropy (real + earlier classes)
  double generator = 0;   // G's loss without the regulariser
  double sparsity = 0;    // R
  double scale = 0;       // s at this step
  bool skipped = false;   // a loss or gradient was not finite: that update was not applied
};

class MaskedGan {
 public:
  // Builds G and the critic from config.seed (the GAN's own generator). Errors: invalid config,
  // unavailable device.
  static Expected<std::unique_ptr<MaskedGan>> create(const MaskedGanConfig& config);
  ~MaskedGan();
  MaskedGan(const MaskedGan&) = delete;
  MaskedGan& operator=(const MaskedGan&) = delete;

  const MaskedGanConfig& config() const;

  // One critic (x critic_steps) and one generator step on real x [B, P] with labels y [B]
  // (int64 in [0, classes)); the labels' classes join the current task. Errors: shapes, labels
  // out of range, a class bound to an earlier task (invalid_argument). Not thread-safe.
  Expected<MaskedGanStats> learn(const at::Tensor& x, const at::Tensor& y);
  // Steps learned in the current task.
  int64_t task_steps() const;

  // Ends the current task (see the header comment); a no-op when nothing was learned since the
  // last one. Returns the units the task newly reserved per masked layer.
  std::vector<int64_t> consolidate();

  // Tasks ended so far.
  int tasks() const;
  // The task each class is bound to (-1: not learned yet) [classes].
  const std::vector<int>& class_tasks() const;
  // Current widths of G's masked layers.
  std::vector<int64_t> widths() const;
  // Units reserved by the stored tasks (cumulative masks), per masked layer.
  std::vector<int64_t> reserved() const;
  // Widths after each consolidate() so far (the growth history).
  const std::vector<std::vector<int64_t>>& width_history() const;

  // n samples [n, P] in [0, 1] and labels [n] (int64): classes drawn with class_weights (index =
  // class; classes not learned yet get weight 0; empty = uniform over the learned classes), each
  // generated with its task's binarised masks. Empty tensors when no class can be drawn.
  std::pair<at::Tensor, at::Tensor> generate(int64_t n, const std::vector<double>& class_weights);
  // Samples [B, P] of given labels with given noise [B, nz] and the masks of `tasks` [B] (int64,
  // each a stored task); for tests of what the stored tasks generate.
  at::Tensor generate_with(const at::Tensor& labels, const at::Tensor& z, const at::Tensor& tasks);
  // Samples with the current task's soft masks at scale s (for tests).
  at::Tensor generate_soft(const at::Tensor& labels, const at::Tensor& z, double s);
  // The soft masks of the current task at scale s, one per masked layer.
  std::vector<at::Tensor> soft_masks(double s) const;
  // The current task's embeddings (trainable), one per masked layer.
  std::vector<at::Tensor> embeddings() const;
  // G's weights and biases: W_0, b_0, ..., W_L, b_L.
  std::vector<at::Tensor> generator_parameters() const;

  // Bytes of G's weights (4 per float) and of the stored binarised masks (1 bit per unit per
  // task, rounded up to whole bytes per layer and task): what generating needs.
  int64_t generator_bytes() const;
  int64_t mask_bytes() const;
  // generator_bytes() + mask_bytes() + the critic's weights.
  int64_t weight_bytes() const;

  // Everything learned (G, masks, embeddings, the critic, Adam moments, class bindings, the
  // noise stream, counters) as bytes, for snapshots.
  std::string save_state() const;
  // Restores save_state() output of a GAN built with the same configuration (widths may have
  // grown). Checks everything first; on error (malformed, naming the part) nothing changes.
  Status load_state(const std::string& bytes);

 private:
  struct Impl;
  explicit MaskedGan(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace engram
