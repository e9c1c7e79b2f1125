#include "modules/association/masked_gan.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/autograd.h>
#include <torch/optim/adam.h>
#include <torch/utils.h>

#include <cmath>

#include "modules/association/hat_mask.h"
#include "modules/common/device.h"
#include "modules/common/finite_step.h"
#include "modules/common/tensor_archive.h"
#include "modules/common/torch_state.h"

namespace engram {

namespace {

constexpr double kSlope = 0.2;  // leaky ReLU

Status bad(const std::string& what) { return {ErrorCode::invalid_argument, "dgm: " + what}; }
Status malformed(const std::string& what) { return {ErrorCode::malformed, "dgm state: " + what}; }

bool in(double v, double lo, double hi) { return std::isfinite(v) && v >= lo && v <= hi; }

struct Dense {
  at::Tensor w, b;  // [out, in], [out]; leaves requiring grad
  at::Tensor forward(const at::Tensor& x) const { return at::addmm(b, x, w.t()); }
};

// U(-1/sqrt(in), 1/sqrt(in)) for weights and bias (LibTorch's Linear default), from `g`.
Dense make_dense(int64_t out, int64_t in, at::Generator& g, c10::Device device) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));
  Dense d;
  d.w = ((at::rand({out, in}, g) * 2 - 1) * bound).to(device).set_requires_grad(true);
  d.b = ((at::rand({out}, g) * 2 - 1) * bound).to(device).set_requires_grad(true);
  return d;
}

at::Tensor leaf(const at::Tensor& t) { return t.detach().clone().set_requires_grad(true); }

}  // namespace

Status validate(const MaskedGanConfig& c) {
  if (c.classes < 1 || c.classes > 4096) return bad("classes must be in [1, 4096]");
  if (c.rows < 1 || c.cols < 1 || c.rows > 4096 || c.cols > 4096) return bad("bad image shape");
  if (c.nz < 1 || c.nz > 4096) return bad("nz must be in [1, 4096]");
  if (c.hidden.empty()) return bad("hidden needs at least one masked layer");
  for (int w : c.hidden) {
    if (w < 1 || w > 16384) return bad("hidden widths must be in [1, 16384]");
  }
  if (c.critic_hidden.empty()) return bad("critic_hidden needs at least one layer");
  for (int w : c.critic_hidden) {
    if (w < 1 || w > 16384) return bad("critic_hidden widths must be in [1, 16384]");
  }
  if (!in(c.lr, 1e-12, 10)) return bad("lr must be in (0, 10]");
  if (!in(c.s_max, 1, 1e6)) return bad("s_max must be in [1, 1e6]");
  if (!in(c.lambda, 0, 1e6)) return bad("lambda must be in [0, 1e6]");
  if (!in(c.gp, 0, 1e6)) return bad("gp must be in [0, 1e6]");
  if (!in(c.ac, 0, 1e6)) return bad("ac must be in [0, 1e6]");
  if (c.critic_steps < 1 || c.critic_steps > 100) return bad("critic_steps must be in [1, 100]");
  if (c.anneal_steps < 1 || c.anneal_steps > (int64_t{1} << 40)) {
    return bad("anneal_steps must be in [1, 2^40]");
  }
  if (!(c.embedding_clamp > 0) || !in(c.embedding_clamp, 0, 1e3)) {
    return bad("embedding_clamp must be in (0, 1000]");
  }
  return {};
}

struct MaskedGan::Impl {
  MaskedGanConfig config;
  c10::Device device{c10::kCPU};
  std::vector<Dense> g;       // G: masked layers, then the output layer
  std::vector<HatMask> mask;  // one per masked layer
  std::vector<Dense> trunk;   // the critic's trunk
  Dense critic_head, class_head;
  std::unique_ptr<torch::optim::Adam> g_opt, d_opt;
  at::Generator generator;
  std::vector<int> class_task;     // [classes]: task of each class, -1 = not learned
  std::vector<uint8_t> pending;    // classes of the current task
  std::vector<at::Tensor> keep_w;  // per G layer: 1 - protected, [out, in]
  std::vector<at::Tensor> keep_b;  // per G layer: [out]
  std::vector<std::vector<int64_t>> history;
  int64_t step = 0;  // steps in the current task
  int tasks = 0;

  int64_t pixels() const { return static_cast<int64_t>(config.rows) * config.cols; }
  int64_t in0() const { return config.nz + config.classes; }

  std::vector<at::Tensor> g_params() const {
    std::vector<at::Tensor> out;
    for (const Dense& d : g) {
      out.push_back(d.w);
      out.push_back(d.b);
    }
    return out;
  }
  std::vector<at::Tensor> d_params() const {
    std::vector<at::Tensor> out;
    for (const Dense& d : trunk) {
      out.push_back(d.w);
      out.push_back(d.b);
    }
    for (const Dense* d : {&critic_head, &class_head}) {
      out.push_back(d->w);
      out.push_back(d->b);
    }
    return out;
  }
  std::vector<at::Tensor> g_opt_params() const {
    std::vector<at::Tensor> out = g_params();
    for (const HatMask& m : mask) out.push_back(m.embedding());
    return out;
  }
  torch::optim::AdamOptions adam() const {
    return torch::optim::AdamOptions(config.lr).betas({0.5, 0.999});
  }

  void build_critic() {
    trunk.clear();
    int64_t in = pixels();
    for (int w : config.critic_hidden) {
      trunk.push_back(make_dense(w, in, generator, device));
      in = w;
    }
    critic_head = make_dense(1, in, generator, device);
    class_head = make_dense(config.classes, in, generator, device);
    d_opt = std::make_unique<torch::optim::Adam>(d_params(), adam());
  }

  // Recomputes keep_w / keep_b from the cumulative masks and the learned classes.
  void update_protection() {
    keep_w.clear();
    keep_b.clear();
    at::Tensor c_in = at::ones({in0()});
    for (int c = 0; c < config.classes; ++c) {
      if (class_task[static_cast<size_t>(c)] < 0) c_in[config.nz + c] = 0;
    }
    for (size_t l = 0; l < g.size(); ++l) {
      // The output layer's units serve every task: reserved once a task is stored.
      const at::Tensor c_out = l < mask.size() ? mask[l].cumulative()
                                               : at::full({g[l].w.size(0)}, tasks > 0 ? 1.0 : 0.0);
      keep_w.push_back((1 - at::minimum(c_out.unsqueeze(1), c_in.unsqueeze(0))).to(device));
      keep_b.push_back((1 - c_out).to(device));
      if (l < mask.size()) c_in = mask[l].cumulative();
    }
  }

  // G on h0 = [z, one_hot(labels)] with masks (one per masked layer, [units] or [B, units]).
  at::Tensor forward(const at::Tensor& labels, const at::Tensor& z,
                     const std::vector<at::Tensor>& masks) const {
    at::Tensor h =
        at::cat({z.to(device), at::one_hot(labels.to(device), config.classes).to(at::kFloat)}, 1);
    for (size_t l = 0; l < mask.size(); ++l) {
      h = at::leaky_relu(g[l].forward(h), kSlope) * masks[l];
    }
    return at::sigmoid(g.back().forward(h));
  }

  std::pair<at::Tensor, at::Tensor> critic(const at::Tensor& x) const {
    at::Tensor h = x;
    for (const Dense& d : trunk) h = at::leaky_relu(d.forward(h), kSlope);
    return {critic_head.forward(h).squeeze(1), class_head.forward(h)};
  }

  std::vector<at::Tensor> soft_masks_at(double s) const {
    std::vector<at::Tensor> out;
    for (const HatMask& hm : mask) out.push_back(hm.soft(s).to(device));
    return out;
  }

  at::Tensor noise(int64_t n) { return at::randn({n, config.nz}, generator).to(device); }

  std::vector<at::Tensor> stored_masks(const at::Tensor& tasks_of) const {
    std::vector<at::Tensor> out;
    for (const HatMask& m : mask) {
      out.push_back(m.stored().to(at::kFloat).index_select(0, tasks_of.cpu()).to(device));
    }
    return out;
  }

  at::Tensor tasks_of(const at::Tensor& labels) const {
    at::Tensor t = at::empty({labels.size(0)}, at::kLong);
    const at::Tensor lc = labels.cpu().contiguous();
    for (int64_t i = 0; i < labels.size(0); ++i) {
      t[i] = class_task[static_cast<size_t>(lc[i].item<int64_t>())];
    }
    return t;
  }

  std::pair<at::Tensor, at::Tensor> generate(int64_t n, const std::vector<double>& weights) {
    at::Tensor w = at::zeros({config.classes}, at::kDouble);
    bool any = false;
    for (int c = 0; c < config.classes; ++c) {
      if (class_task[static_cast<size_t>(c)] < 0) continue;
      const double v = weights.empty()                           ? 1.0
                       : static_cast<size_t>(c) < weights.size() ? weights[static_cast<size_t>(c)]
                                                                 : 0.0;
      if (v > 0 && std::isfinite(v)) {
        w[c] = v;
        any = true;
      }
    }
    if (!any || n < 1) return {at::empty({0, pixels()}), at::empty({0}, at::kLong)};
    const at::Tensor labels = at::multinomial(w, n, true, generator);
    torch::NoGradGuard no_grad;
    const at::Tensor x = forward(labels, noise(n), stored_masks(tasks_of(labels)));
    return {x.cpu(), labels};
  }
};

MaskedGan::MaskedGan(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MaskedGan::~MaskedGan() = default;

Expected<std::unique_ptr<MaskedGan>> MaskedGan::create(const MaskedGanConfig& config) {
  if (Status s = validate(config); !s.ok()) return s;
  auto device = resolve_device(config.device);
  if (!device.ok()) return device.status();
  auto impl = std::make_unique<Impl>();
  Impl& m = *impl;
  m.config = config;
  m.device = *device;
  m.generator = at::make_generator<at::CPUGeneratorImpl>(config.seed * 0x9e3779b97f4a7c15ULL + 4);
  int64_t in = m.in0();
  for (int w : config.hidden) {
    m.g.push_back(make_dense(w, in, m.generator, m.device));
    m.mask.emplace_back(w);
    in = w;
  }
  m.g.push_back(make_dense(m.pixels(), in, m.generator, m.device));
  m.class_task.assign(static_cast<size_t>(config.classes), -1);
  m.pending.assign(static_cast<size_t>(config.classes), 0);
  m.g_opt = std::make_unique<torch::optim::Adam>(m.g_opt_params(), m.adam());
  m.build_critic();
  m.update_protection();
  return std::unique_ptr<MaskedGan>(new MaskedGan(std::move(impl)));
}

const MaskedGanConfig& MaskedGan::config() const { return impl_->config; }
int64_t MaskedGan::task_steps() const { return impl_->step; }
int MaskedGan::tasks() const { return impl_->tasks; }
const std::vector<int>& MaskedGan::class_tasks() const { return impl_->class_task; }
const std::vector<std::vector<int64_t>>& MaskedGan::width_history() const { return impl_->history; }

std::vector<int64_t> MaskedGan::widths() const {
  std::vector<int64_t> out;
  for (const HatMask& m : impl_->mask) out.push_back(m.units());
  return out;
}

std::vector<int64_t> MaskedGan::reserved() const {
  std::vector<int64_t> out;
  for (const HatMask& m : impl_->mask) out.push_back(m.units() - m.free_units());
  return out;
}

Expected<MaskedGanStats> MaskedGan::learn(const at::Tensor& x, const at::Tensor& y) {
  Impl& m = *impl_;
  const MaskedGanConfig& c = m.config;
  if (x.dim() != 2 || x.size(1) != m.pixels() || y.dim() != 1 || y.size(0) != x.size(0)) {
    return bad("learn: x must be [B, " + std::to_string(m.pixels()) + "] and y [B]");
  }
  MaskedGanStats stats;
  const int64_t n = x.size(0);
  if (n == 0) return stats;
  const at::Tensor labels = y.to(at::kLong).cpu().contiguous();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t v = labels[i].item<int64_t>();
    if (v < 0 || v >= c.classes) return bad("learn: a label outside [0, classes)");
    if (m.class_task[static_cast<size_t>(v)] >= 0) {
      return bad("learn: class " + std::to_string(v) + " was learned in task " +
                 std::to_string(m.class_task[static_cast<size_t>(v)]) +
                 "; a class belongs to one task");
    }
  }
  for (int64_t i = 0; i < n; ++i) m.pending[static_cast<size_t>(labels[i].item<int64_t>())] = 1;
  const double s = hat_scale(m.step, c.anneal_steps, c.s_max);
  ++m.step;
  stats.scale = s;
  const at::Tensor real = x.to(m.device, at::kFloat);
  const at::Tensor yd = labels.to(m.device);
  const bool have_old = m.tasks > 0 && c.ac > 0;

  // The critic.
  for (int k = 0; k < c.critic_steps; ++k) {
    at::Tensor fake;
    {
      torch::NoGradGuard no_grad;
      fake = m.forward(labels, m.noise(n), m.soft_masks_at(s));
    }
    m.d_opt->zero_grad();
    auto [score_real, class_real] = m.critic(real);
    auto [score_fake, class_fake] = m.critic(fake);
    (void)class_fake;
    const at::Tensor eps = at::rand({n, 1}, m.generator).to(m.device);
    const at::Tensor mix = (eps * real + (1 - eps) * fake).detach().set_requires_grad(true);
    const at::Tensor score_mix = m.critic(mix).first;
    const at::Tensor grad = torch::autograd::grad({score_mix.sum()}, {mix}, {}, true, true)[0];
    const at::Tensor penalty = (grad.norm(2, 1) - 1).pow(2).mean();
    const at::Tensor wasserstein = score_fake.mean() - score_real.mean();
    at::Tensor loss = wasserstein + c.gp * penalty;
    if (c.ac > 0) {
      at::Tensor class_loss = at::cross_entropy_loss(class_real, yd);
      if (have_old) {
        auto [old_x, old_y] = m.generate(n, {});
        class_loss = class_loss + at::cross_entropy_loss(m.critic(old_x.to(m.device)).second,
                                                         old_y.to(m.device));
      }
      loss = loss + c.ac * class_loss;
      stats.class_loss = class_loss.item<double>();
    }
    loss.backward();
    stats.skipped = !step_if_finite(*m.d_opt, loss) || stats.skipped;
    stats.critic = wasserstein.item<double>();
    stats.penalty = penalty.item<double>();
  }

  // The generator.
  m.g_opt->zero_grad();
  const std::vector<at::Tensor> soft = m.soft_masks_at(s);
  const at::Tensor fake = m.forward(labels, m.noise(n), soft);
  auto [score_fake, class_fake] = m.critic(fake);
  at::Tensor g_loss = -score_fake.mean();
  if (c.ac > 0) g_loss = g_loss + c.ac * at::cross_entropy_loss(class_fake, yd);
  std::vector<const HatMask*> layers;
  int64_t total = 0, free = 0;
  for (const HatMask& hm : m.mask) {
    layers.push_back(&hm);
    total += hm.units();
    free += hm.free_units();
  }
  const at::Tensor sparsity = hat_sparsity(soft, layers);
  at::Tensor loss = g_loss;
  if (free > 0 && c.lambda > 0) {
    loss = loss + c.lambda * (static_cast<double>(total) / static_cast<double>(free)) * sparsity;
  }
  loss.backward();
  {
    torch::NoGradGuard no_grad;
    for (size_t l = 0; l < m.g.size(); ++l) {
      if (m.g[l].w.grad().defined()) m.g[l].w.mutable_grad().mul_(m.keep_w[l]);
      if (m.g[l].b.grad().defined()) m.g[l].b.mutable_grad().mul_(m.keep_b[l]);
    }
    for (const HatMask& hm : m.mask) hm.compensate_gradient(s, c.s_max);
  }
  stats.skipped = !step_if_finite(*m.g_opt, loss) || stats.skipped;
  for (const HatMask& hm : m.mask) hm.clamp_embedding(c.embedding_clamp);
  // The critic's gradients from the generator's step are cleared by its next zero_grad().
  stats.generator = g_loss.item<double>();
  stats.sparsity = sparsity.item<double>();
  return stats;
}

std::vector<int64_t> MaskedGan::consolidate() {
  Impl& m = *impl_;
  std::vector<int64_t> fresh(m.mask.size(), 0);
  if (m.step == 0) return fresh;
  torch::NoGradGuard no_grad;
  for (size_t l = 0; l < m.mask.size(); ++l) fresh[l] = m.mask[l].commit();
  for (size_t c = 0; c < m.pending.size(); ++c) {
    if (m.pending[c]) m.class_task[c] = m.tasks;
    m.pending[c] = 0;
  }
  ++m.tasks;
  m.step = 0;
  // Adam moments of G's weights, keyed by position, before the tensors change.
  const std::vector<at::Tensor> old_params = m.g_params();
  std::vector<std::unique_ptr<torch::optim::AdamParamState>> old_states(old_params.size());
  for (size_t i = 0; i < old_params.size(); ++i) {
    auto it = m.g_opt->state().find(c10::guts::to_string(old_params[i].unsafeGetTensorImpl()));
    if (it == m.g_opt->state().end()) continue;
    const auto& st = static_cast<const torch::optim::AdamParamState&>(*it->second);
    auto copy = std::make_unique<torch::optim::AdamParamState>();
    copy->step(st.step());
    copy->exp_avg(st.exp_avg().clone());
    copy->exp_avg_sq(st.exp_avg_sq().clone());
    old_states[i] = std::move(copy);
  }
  if (m.config.grow) {
    for (size_t l = 0; l < m.mask.size(); ++l) {
      const int64_t k = fresh[l];
      if (k == 0) continue;
      Dense& d = m.g[l];
      Dense& next = m.g[l + 1];
      const Dense rows = make_dense(k, d.w.size(1), m.generator, m.device);
      d.w = leaf(at::cat({d.w, rows.w}, 0));
      d.b = leaf(at::cat({d.b, rows.b}, 0));
      const double bound = 1.0 / std::sqrt(static_cast<double>(next.w.size(1) + k));
      const at::Tensor cols =
          ((at::rand({next.w.size(0), k}, m.generator) * 2 - 1) * bound).to(m.device);
      next.w = leaf(at::cat({next.w, cols}, 1));
      m.mask[l].grow(k);
    }
  }
  m.update_protection();
  // A new optimiser over the (possibly grown) tensors: old moments in the leading block, zeros
  // for new units, and zeros where a weight is now protected (its gradient stays 0, so the
  // update stays exactly 0).
  const std::vector<at::Tensor> params = m.g_params();
  m.g_opt = std::make_unique<torch::optim::Adam>(m.g_opt_params(), m.adam());
  for (size_t i = 0; i < params.size(); ++i) {
    if (!old_states[i]) continue;
    const at::Tensor& keep = i % 2 == 0 ? m.keep_w[i / 2] : m.keep_b[i / 2];
    auto grow_to = [&](const at::Tensor& old) {
      at::Tensor t = at::zeros_like(params[i]);
      if (old.dim() == 2) {
        t.narrow(0, 0, old.size(0)).narrow(1, 0, old.size(1)).copy_(old);
      } else {
        t.narrow(0, 0, old.size(0)).copy_(old);
      }
      return t * keep;
    };
    auto st = std::make_unique<torch::optim::AdamParamState>();
    st->step(old_states[i]->step());
    st->exp_avg(grow_to(old_states[i]->exp_avg()));
    st->exp_avg_sq(grow_to(old_states[i]->exp_avg_sq()));
    m.g_opt->state()[c10::guts::to_string(params[i].unsafeGetTensorImpl())] = std::move(st);
  }
  m.build_critic();
  m.history.push_back(widths());
  return fresh;
}

std::pair<at::Tensor, at::Tensor> MaskedGan::generate(int64_t n,
                                                      const std::vector<double>& class_weights) {
  return impl_->generate(n, class_weights);
}

at::Tensor MaskedGan::generate_with(const at::Tensor& labels, const at::Tensor& z,
                                    const at::Tensor& tasks) {
  torch::NoGradGuard no_grad;
  return impl_->forward(labels.to(at::kLong), z, impl_->stored_masks(tasks.to(at::kLong))).cpu();
}

at::Tensor MaskedGan::generate_soft(const at::Tensor& labels, const at::Tensor& z, double s) {
  torch::NoGradGuard no_grad;
  return impl_->forward(labels.to(at::kLong), z, soft_masks(s)).cpu();
}

std::vector<at::Tensor> MaskedGan::soft_masks(double s) const { return impl_->soft_masks_at(s); }

std::vector<at::Tensor> MaskedGan::embeddings() const {
  std::vector<at::Tensor> out;
  for (const HatMask& m : impl_->mask) out.push_back(m.embedding());
  return out;
}

std::vector<at::Tensor> MaskedGan::generator_parameters() const { return impl_->g_params(); }

int64_t MaskedGan::generator_bytes() const {
  int64_t n = 0;
  for (const at::Tensor& p : impl_->g_params()) n += p.numel() * 4;
  return n;
}

int64_t MaskedGan::mask_bytes() const {
  int64_t n = 0;
  for (const HatMask& m : impl_->mask) n += m.tasks() * ((m.units() + 7) / 8);
  return n;
}

int64_t MaskedGan::weight_bytes() const {
  int64_t n = generator_bytes() + mask_bytes();
  for (const at::Tensor& p : impl_->d_params()) n += p.numel() * 4;
  return n;
}

namespace {

at::Tensor long_list(const std::vector<int64_t>& v) {
  return at::tensor(v.empty() ? std::vector<int64_t>{} : v, at::kLong).reshape({-1});
}

}  // namespace

std::string MaskedGan::save_state() const {
  const Impl& m = *impl_;
  TensorArchive a;
  a.put("widths", long_list(widths()));
  a.put("tasks", at::full({1}, static_cast<int64_t>(m.tasks), at::kLong));
  a.put("step", at::full({1}, m.step, at::kLong));
  std::vector<int64_t> ct(m.class_task.begin(), m.class_task.end());
  a.put("class_task", long_list(ct));
  std::vector<int64_t> pend(m.pending.begin(), m.pending.end());
  a.put("pending", long_list(pend));
  std::vector<int64_t> hist;
  for (const auto& h : m.history) hist.insert(hist.end(), h.begin(), h.end());
  a.put("history", long_list(hist));
  for (size_t l = 0; l < m.g.size(); ++l) {
    a.put("g/" + std::to_string(l) + "/w", m.g[l].w.detach().cpu());
    a.put("g/" + std::to_string(l) + "/b", m.g[l].b.detach().cpu());
  }
  for (size_t l = 0; l < m.mask.size(); ++l) {
    a.put("mask/" + std::to_string(l) + "/stored", m.mask[l].stored());
    a.put("mask/" + std::to_string(l) + "/e", m.mask[l].embedding().detach().cpu());
  }
  const std::vector<at::Tensor> dp = m.d_params();
  for (size_t i = 0; i < dp.size(); ++i) a.put("d/" + std::to_string(i), dp[i].detach().cpu());
  save_adam(a, "g_adam", *m.g_opt);
  save_adam(a, "d_adam", *m.d_opt);
  save_generator(a, "generator", m.generator);
  return a.to_bytes();
}

Status MaskedGan::load_state(const std::string& bytes) {
  Impl& m = *impl_;
  const MaskedGanConfig& c = m.config;
  return torch_guarded("dgm state", [&]() -> Status {
    auto a = TensorArchive::from_bytes(bytes);
    if (!a.ok()) return a.status();
    const int64_t layers = static_cast<int64_t>(c.hidden.size());
    auto widths = a->get("widths", at::kLong, {layers});
    if (!widths.ok()) return widths.status();
    std::vector<int64_t> w(static_cast<size_t>(layers));
    for (int64_t l = 0; l < layers; ++l) {
      w[static_cast<size_t>(l)] = (*widths)[l].item<int64_t>();
      if (w[static_cast<size_t>(l)] < c.hidden[static_cast<size_t>(l)] ||
          w[static_cast<size_t>(l)] > (1 << 20)) {
        return malformed("widths out of range");
      }
    }
    auto tasks_t = a->get("tasks", at::kLong, {1});
    if (!tasks_t.ok()) return tasks_t.status();
    const int64_t tasks = tasks_t->item<int64_t>();
    if (tasks < 0 || tasks > c.classes) return malformed("tasks out of range");
    auto step_t = a->get("step", at::kLong, {1});
    if (!step_t.ok()) return step_t.status();
    const int64_t step = step_t->item<int64_t>();
    if (step < 0 || step > (int64_t{1} << 50)) return malformed("step out of range");
    auto ct = a->get("class_task", at::kLong, {c.classes});
    if (!ct.ok()) return ct.status();
    auto pend = a->get("pending", at::kLong, {c.classes});
    if (!pend.ok()) return pend.status();
    std::vector<int> class_task(static_cast<size_t>(c.classes));
    std::vector<uint8_t> pending(static_cast<size_t>(c.classes));
    for (int k = 0; k < c.classes; ++k) {
      const int64_t v = (*ct)[k].item<int64_t>(), p = (*pend)[k].item<int64_t>();
      if (v < -1 || v >= tasks) return malformed("class_task out of range");
      if (p != 0 && p != 1) return malformed("pending is not 0/1");
      class_task[static_cast<size_t>(k)] = static_cast<int>(v);
      pending[static_cast<size_t>(k)] = static_cast<uint8_t>(p);
    }
    auto hist = a->get("history", at::kLong, {tasks * layers});
    if (!hist.ok()) return hist.status();
    std::vector<std::vector<int64_t>> history;
    for (int64_t t = 0; t < tasks; ++t) {
      std::vector<int64_t> row;
      for (int64_t l = 0; l < layers; ++l) row.push_back((*hist)[t * layers + l].item<int64_t>());
      history.push_back(row);
    }
    std::vector<Dense> g;
    int64_t in = m.in0();
    for (int64_t l = 0; l <= layers; ++l) {
      const int64_t out = l < layers ? w[static_cast<size_t>(l)] : m.pixels();
      const std::string k = "g/" + std::to_string(l);
      auto gw = a->get(k + "/w", at::kFloat, {out, in});
      if (!gw.ok()) return gw.status();
      auto gb = a->get(k + "/b", at::kFloat, {out});
      if (!gb.ok()) return gb.status();
      if (!gw->isfinite().all().item<bool>() || !gb->isfinite().all().item<bool>()) {
        return malformed(k + " is not finite");
      }
      g.push_back({leaf(gw->to(m.device)), leaf(gb->to(m.device))});
      in = out;
    }
    std::vector<HatMask> mask;
    for (int64_t l = 0; l < layers; ++l) {
      const std::string k = "mask/" + std::to_string(l);
      const int64_t units = w[static_cast<size_t>(l)];
      auto stored = a->get(k + "/stored", at::kByte, {tasks, units});
      if (!stored.ok()) return stored.status();
      if (stored->gt(1).any().item<bool>()) return malformed(k + "/stored is not 0/1");
      auto e = a->get(k + "/e", at::kFloat, {units});
      if (!e.ok()) return e.status();
      if (!e->isfinite().all().item<bool>()) return malformed(k + "/e is not finite");
      HatMask hm(units);
      hm.restore(*stored, e->to(m.device));
      mask.push_back(std::move(hm));
    }
    // The critic, built to the configuration's shapes, then overwritten.
    std::vector<at::Tensor> dp = m.d_params();
    std::vector<at::Tensor> loaded;
    for (size_t i = 0; i < dp.size(); ++i) {
      auto t = a->get("d/" + std::to_string(i), at::kFloat, dp[i].sizes());
      if (!t.ok()) return t.status();
      if (!t->isfinite().all().item<bool>()) return malformed("d/" + std::to_string(i));
      loaded.push_back(leaf(t->to(m.device)));
    }
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(0);
    if (Status s = load_generator(*a, "generator", generator); !s.ok()) return s;
    // Checked: build optimisers over the new tensors and load their moments (still nothing
    // applied to this GAN).
    std::vector<at::Tensor> g_opt_params;
    for (const Dense& d : g) {
      g_opt_params.push_back(d.w);
      g_opt_params.push_back(d.b);
    }
    for (const HatMask& hm : mask) g_opt_params.push_back(hm.embedding());
    auto g_opt = std::make_unique<torch::optim::Adam>(g_opt_params, m.adam());
    if (Status s = load_adam(*a, "g_adam", *g_opt); !s.ok()) return s;
    auto d_opt = std::make_unique<torch::optim::Adam>(loaded, m.adam());
    if (Status s = load_adam(*a, "d_adam", *d_opt); !s.ok()) return s;
    m.g = std::move(g);
    m.mask = std::move(mask);
    size_t i = 0;
    for (Dense& d : m.trunk) {
      d.w = loaded[i++];
      d.b = loaded[i++];
    }
    for (Dense* d : {&m.critic_head, &m.class_head}) {
      d->w = loaded[i++];
      d->b = loaded[i++];
    }
    m.g_opt = std::move(g_opt);
    m.d_opt = std::move(d_opt);
    m.generator = generator;
    m.class_task = std::move(class_task);
    m.pending = std::move(pending);
    m.history = std::move(history);
    m.tasks = static_cast<int>(tasks);
    m.step = step;
    m.update_protection();
    return Status();
  });
}

}  // namespace engram
