// Automatic Recall Machines (papers/003, Ji et al. 2020): replay optimised from the classifier
// itself, with no buffer and no generator. After each real step, M images drawn from the real
// batch are moved by S steps of gradient ascent on their inputs so that the classifier and its
// frozen copy f_old (the teacher) disagree on them, away from the batch's classes (eq. 8-9);
// then one distillation step moves the classifier toward f_old's outputs on the recalled and
// the real images (Algorithm 1). f_old is refreshed at each consolidation (T = a task's
// iterations) and, with a lag N > 0, also after every N real steps (T = N; the unit lag is 1).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <random>
#include <vector>

#include "modules/neocortex/classifier_memory.h"

namespace engram {

// How D of eq. 8 is computed. js: the Jensen-Shannon divergence the paper writes,
// 0.5 KL(p || m) + 0.5 KL(q || m); mixture_kl: what the authors' code (xu-ji/ARM,
// losses.neg_symmetric_KL) computes, 0.5 KL(m || p) + 0.5 KL(m || q), m = (p + q) / 2 in both.
// mixture_kl is unbounded and needs p, q > 0 on every unit (no masked outputs).
enum class DivergenceForm { js, mixture_kl };

// The recall of eq. 8-9; defaults from the paper's Table 4 (MNIST row).
struct RecallConfig {
  int images = 10;                           // M: recalled images per real batch
  int steps = 10;                            // S: gradient ascent steps on the images
  double step_size = 25.0;                   // eta_1
  double divergence = 1.0;                   // weight of D (the paper's unit-lag variant uses 8)
  DivergenceForm form = DivergenceForm::js;  // how D is computed
  double old_ce = 1.0;       // lambda_1: CE(f_old(x), batch classes), pushes x off them
  double new_ce = 0.1;       // lambda_2: CE(f_new(x), batch classes)
  double entropy = 16.0;     // lambda_3: entropy of f_old's batch-mean prediction (diversity)
  double sharpen = 0.1;      // lambda_4: CE(f_old(x), its own argmax), subtracted
  double l2 = 1.0;           // lambda_5: image L2, subtracted
  double tv = 1.0;           // lambda_6: total variation, subtracted
  int rows = 28, cols = 28;  // image shape (for the total variation)
};

struct ArmConfig {
  RecallConfig recall;
  double recalled_weight = 1.0;  // lambda_0 on the recalled images
  double real_weight = 1.0;      // lambda_0 on the real batch (its distillation toward f_old)
  int64_t lag = 0;               // 0: f_old refreshed at consolidations only; N: also every N steps
  // false: only the classes seen so far compete (engram's class-incremental head; f_old over
  // the classes it had learned); true: all K units from the start, as the paper's code.
  bool all_outputs = false;
  uint64_t seed = 1;  // which real images start the recall
};

// Jensen-Shannon divergence of each row of p and q [B, K] (probabilities, zeros allowed):
// 0.5 KL(p || m) + 0.5 KL(q || m), m = (p + q) / 2, natural logarithm. Returns [B].
at::Tensor js_divergence(const at::Tensor& p, const at::Tensor& q);

// The authors' code's D on logits a and b [B, K]: 0.5 KL(m || softmax a) + 0.5 KL(m || softmax b),
// m the mixture of the two softmaxes, natural logarithm. Returns [B].
at::Tensor mixture_kl_divergence(const at::Tensor& a_logits, const at::Tensor& b_logits);

// Total variation of images x [M, rows * cols] as ARM and DeepInversion compute it:
// 2 (sum of squared vertical differences / ((rows - 1) cols) + sum of squared horizontal
// differences / (rows (cols - 1))) / M. A scalar.
at::Tensor total_variation(const at::Tensor& x, int rows, int cols);

// ARM's L2 term: the sum of the images' Euclidean norms / (M * P), x [M, P]. A scalar.
at::Tensor image_l2(const at::Tensor& x);

// The recall objective's value and its terms (unweighted), for logs and tests.
struct RecallTerms {
  at::Tensor objective;  // scalar, weighted, to maximise; the graph reaches the images
  double divergence = 0, old_ce = 0, new_ce = 0, entropy = 0, sharpen = 0, l2 = 0, tv = 0;
};

// Eq. 8-9 on images x [M, P]: new_logits and old_logits [M, K] are the two models' logits on x
// with the units that do not compete set to -1e9 (probability 0). batch_classes [C] (int64,
// distinct): the real batch's classes. old_known [K] (bool): the classes the old model learned;
// a batch class it never learned adds no CE term for it (that CE is infinite and constant).
RecallTerms recall_objective(const at::Tensor& x, const at::Tensor& new_logits,
                             const at::Tensor& old_logits, const at::Tensor& batch_classes,
                             const at::Tensor& old_known, const RecallConfig& config);

// The recall loop: M images drawn from the real batch x [N, P] (labels y [N]), distinct when
// M <= N and with replacement otherwise, then S steps x += eta_1 * d recall / dx. Only the
// images get gradients: no parameter of either model is touched. `active` [K] (bool): the
// classifier's competing units. Requires classifier.has_frozen(). Returns the images [M, P] (no
// gradient); `trace`, when given, receives the objective before each step and after the last (S + 1
// values).
at::Tensor recall_images(ClassifierAccess& classifier, const at::Tensor& x, const at::Tensor& y,
                         const at::Tensor& active, const RecallConfig& config, std::mt19937_64& rng,
                         std::vector<double>* trace = nullptr);

// The "arm" kind's part in the neocortex. Its bytes are the frozen copy (one classifier).
class AutomaticRecall final : public ClassifierMemory {
 public:
  explicit AutomaticRecall(const ArmConfig& config);
  std::string kind() const override { return "arm"; }
  // No term on the real step: ARM's distillation is a step of its own.
  at::Tensor real_batch_loss(const at::Tensor&, const at::Tensor&,
                             const at::Tensor&) const override {
    return {};
  }
  // When f_old has learned an active class the batch does not hold (with lag 0: from the end
  // of the first task on, as in the paper): the recall, then one step on
  // lambda_0 CE(f(x), softmax f_old(x)) over the recalled images and the real batch. Then
  // counts the step and refreshes f_old every `lag` steps (lag > 0). The counter is not part
  // of snapshots: a restored session starts its lag afresh.
  MemoryStepStats after_real_step(ClassifierAccess& classifier, const at::Tensor& x,
                                  const at::Tensor& y, const at::Tensor& active) override;
  int64_t extra_bytes(int64_t classifier_weight_bytes) const override {
    return classifier_weight_bytes;  // f_old
  }
  bool all_outputs() const override { return config_.all_outputs; }

  // Real steps seen, refreshes of f_old made by the lag, recalls made.
  int64_t real_steps() const { return real_steps_; }
  int64_t refreshes() const { return refreshes_; }
  int64_t recalls() const { return recalls_; }
  // The objective trace of the last recall (S + 1 values; empty before the first).
  const std::vector<double>& last_trace() const { return trace_; }

 private:
  ArmConfig config_;
  std::mt19937_64 rng_;
  int64_t real_steps_ = 0, refreshes_ = 0, recalls_ = 0;
  std::vector<double> trace_;
};

}  // namespace engram
