#include "modules/neocortex/automatic_recall.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>

#include <algorithm>
#include <numeric>

namespace engram {
namespace {

constexpr double kMasked = -1e9;  // the logit of a unit that does not compete

// -sum_k p_k log(p_k / m_k) with 0 log 0 = 0 (every m_k >= p_k / 2, so m_k > 0 where p_k > 0).
at::Tensor kl_to_mixture(const at::Tensor& p, const at::Tensor& m) {
  const at::Tensor safe_p = p.clamp_min(1e-30), safe_m = m.clamp_min(1e-30);
  return at::where(p.gt(0), p * (safe_p.log() - safe_m.log()), at::zeros_like(p)).sum(1);
}

// Mean over rows of sum over `classes` of -log_softmax(logits)[:, c].
at::Tensor class_ce(const at::Tensor& logits, const at::Tensor& classes) {
  if (classes.numel() == 0) return at::zeros({}, logits.options());
  return -at::log_softmax(logits, 1).index_select(1, classes).sum(1).mean();
}

}  // namespace

at::Tensor js_divergence(const at::Tensor& p, const at::Tensor& q) {
  const at::Tensor m = 0.5 * (p + q);
  return 0.5 * (kl_to_mixture(p, m) + kl_to_mixture(q, m));
}

at::Tensor mixture_kl_divergence(const at::Tensor& a_logits, const at::Tensor& b_logits) {
  const at::Tensor log_a = at::log_softmax(a_logits, 1), log_b = at::log_softmax(b_logits, 1);
  const at::Tensor m = 0.5 * (log_a.exp() + log_b.exp());
  const at::Tensor log_m = m.clamp_min(1e-30).log();
  return 0.5 * ((m * (log_m - log_a)).sum(1) + (m * (log_m - log_b)).sum(1));
}

at::Tensor total_variation(const at::Tensor& x, int rows, int cols) {
  const at::Tensor img = x.reshape({x.size(0), rows, cols});
  const at::Tensor dv = (img.narrow(1, 1, rows - 1) - img.narrow(1, 0, rows - 1)).pow(2).sum();
  const at::Tensor dh = (img.narrow(2, 1, cols - 1) - img.narrow(2, 0, cols - 1)).pow(2).sum();
  return 2.0 * (dv / double((rows - 1) * cols) + dh / double(rows * (cols - 1))) /
         double(x.size(0));
}

at::Tensor image_l2(const at::Tensor& x) {
  return x.reshape({x.size(0), -1}).norm(2, {1}).sum() / double(x.size(0) * x[0].numel());
}

RecallTerms recall_objective(const at::Tensor& x, const at::Tensor& new_logits,
                             const at::Tensor& old_logits, const at::Tensor& batch_classes,
                             const at::Tensor& old_known, const RecallConfig& c) {
  const at::Tensor p_new = at::softmax(new_logits, 1), p_old = at::softmax(old_logits, 1);
  const at::Tensor classes = batch_classes.to(new_logits.device());
  const double n_classes = static_cast<double>(std::max<int64_t>(1, classes.numel()));
  const at::Tensor known = classes.index_select(
      0, old_known.to(classes.device()).index_select(0, classes).nonzero().squeeze(1));
  const at::Tensor d = c.form == DivergenceForm::js
                           ? js_divergence(p_new, p_old).mean()
                           : mixture_kl_divergence(new_logits, old_logits).mean();
  const at::Tensor ce_old = class_ce(old_logits, known) / n_classes;
  const at::Tensor ce_new = class_ce(new_logits, classes) / n_classes;
  const at::Tensor mean_old = p_old.mean(0);
  const at::Tensor h = -(mean_old * mean_old.clamp_min(1e-12).log()).sum();
  const at::Tensor sharp =
      -at::log_softmax(old_logits, 1).gather(1, old_logits.argmax(1, true)).mean();
  const at::Tensor l2 = image_l2(x), tv = total_variation(x, c.rows, c.cols);
  RecallTerms t;
  t.objective = c.divergence * d + c.old_ce * ce_old + c.new_ce * ce_new + c.entropy * h -
                c.sharpen * sharp - c.l2 * l2 - c.tv * tv;
  t.divergence = d.item<double>();
  t.old_ce = ce_old.item<double>();
  t.new_ce = ce_new.item<double>();
  t.entropy = h.item<double>();
  t.sharpen = sharp.item<double>();
  t.l2 = l2.item<double>();
  t.tv = tv.item<double>();
  return t;
}

at::Tensor recall_images(ClassifierAccess& classifier, const at::Tensor& x, const at::Tensor& y,
                         const at::Tensor& active, const RecallConfig& config, std::mt19937_64& rng,
                         std::vector<double>* trace) {
  // As the authors' code (np.random.choice(N, M, replace=M > N)): M distinct images when the
  // batch has at least M, else M drawn with replacement.
  const int64_t n = x.size(0);
  std::vector<int64_t> chosen;
  if (config.images <= n) {
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), int64_t{0});
    std::shuffle(order.begin(), order.end(), rng);
    chosen.assign(order.begin(), order.begin() + config.images);
  } else {
    std::uniform_int_distribution<int64_t> pick(0, n - 1);
    chosen.resize(static_cast<size_t>(config.images));
    for (auto& i : chosen) i = pick(rng);
  }
  const at::Tensor first = at::tensor(chosen, at::kLong).to(x.device());
  at::Tensor images = x.index_select(0, first).detach().clone();
  const at::Tensor batch_classes = at::bincount(y.to(at::kLong).cpu()).nonzero().squeeze(1);
  const at::Tensor old_known = classifier.frozen_classes();
  if (trace) trace->clear();
  for (int s = 0; s <= config.steps; ++s) {
    const bool last = s == config.steps;
    if (last && !trace) break;
    images.requires_grad_(!last);
    at::Tensor new_logits = classifier.logits(images);
    new_logits = new_logits.masked_fill(active.to(new_logits.device()).logical_not(), kMasked);
    at::Tensor old_logits = classifier.frozen_logits(images);
    old_logits = old_logits.masked_fill(old_known.to(old_logits.device()).logical_not(), kMasked);
    RecallTerms terms =
        recall_objective(images, new_logits, old_logits, batch_classes, old_known, config);
    if (trace) trace->push_back(terms.objective.item<double>());
    if (last) break;
    // Gradients with respect to the images only: the parameters' .grad stay untouched.
    const at::Tensor grad = torch::autograd::grad({terms.objective}, {images})[0];
    images = (images.detach() + config.step_size * grad).detach();
  }
  return images.detach();
}

AutomaticRecall::AutomaticRecall(const ArmConfig& config) : config_(config), rng_(config.seed) {}

MemoryStepStats AutomaticRecall::after_real_step(ClassifierAccess& classifier, const at::Tensor& x,
                                                 const at::Tensor& y, const at::Tensor& active) {
  MemoryStepStats stats;
  bool old_outside_batch = classifier.has_frozen() && config_.recall.images > 0;
  if (old_outside_batch) {
    at::Tensor classes = classifier.frozen_classes().cpu().logical_and(active.cpu());
    classes.index_put_({y.to(at::kLong).cpu()}, false);
    old_outside_batch = classes.any().item<bool>();
  }
  if (old_outside_batch) {
    const at::Tensor recalled =
        recall_images(classifier, x, y, active, config_.recall, rng_, &trace_);
    ++recalls_;
    const int64_t m = recalled.size(0);
    const at::Tensor both = at::cat({recalled.to(x.device()), x});
    at::Tensor logits = classifier.logits(both);
    logits = logits.masked_fill(active.to(logits.device()).logical_not(), kMasked);
    at::Tensor target;
    {
      at::NoGradGuard no_grad;
      const at::Tensor known =
          classifier.frozen_classes().to(logits.device()).logical_and(active.to(logits.device()));
      target =
          at::softmax(classifier.frozen_logits(both).masked_fill(known.logical_not(), kMasked), 1);
    }
    // CE(f(x), softmax f_old(x)) per image; f_old's classes are among the active ones, so a
    // target is 0 wherever the student's logit is masked.
    const at::Tensor ce = -(target * at::log_softmax(logits, 1)).sum(1);
    const at::Tensor loss = config_.recalled_weight * ce.narrow(0, 0, m).mean() +
                            config_.real_weight * ce.narrow(0, m, x.size(0)).mean();
    stats.stepped = true;
    stats.loss = loss.item<double>();
    stats.skipped = !classifier.step(loss);
  }
  ++real_steps_;
  if (config_.lag > 0 && real_steps_ % config_.lag == 0) {
    classifier.refresh_frozen();
    ++refreshes_;
  }
  return stats;
}

}  // namespace engram
