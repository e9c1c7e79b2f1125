#include "modules/association/lifelong_vae.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/functional.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/adam.h>
#include <torch/utils.h>

#include <cmath>

#include "modules/association/gumbel_softmax.h"
#include "modules/common/device.h"
#include "modules/common/finite_step.h"
#include "modules/common/tensor_archive.h"
#include "modules/common/torch_state.h"

namespace engram {
namespace nn = torch::nn;
namespace F = torch::nn::functional;

namespace {

constexpr int64_t kEvalChunk = 1000;  // rows per forward pass when evaluating

// One VAE: encoder trunk -> latent projection (J logits, F means, F log-variances); latent
// input layer -> decoder trunk -> pixel logits.
struct Net {
  int j = 0;
  nn::Sequential encoder;         // P -> hidden..., BatchNorm + ELU
  nn::Linear head{nullptr};       // hidden.back() -> J + 2F (into the latent)
  nn::Linear latent_in{nullptr};  // J + F -> hidden.back() (out of the latent)
  nn::Sequential decoder;         // BatchNorm + ELU, hidden... -> P (logits)

  std::vector<at::Tensor> parameters() const {
    std::vector<at::Tensor> out = encoder->parameters();
    for (const auto& p : head->parameters()) out.push_back(p);
    for (const auto& p : latent_in->parameters()) out.push_back(p);
    for (const auto& p : decoder->parameters()) out.push_back(p);
    return out;
  }
  std::vector<nn::Module*> parts() const {
    return {encoder.ptr().get(), head.ptr().get(), latent_in.ptr().get(), decoder.ptr().get()};
  }
  void train(bool on) {
    for (nn::Module* m : parts()) m->train(on);
  }
  void to(c10::Device device) {
    for (nn::Module* m : parts()) m->to(device);
  }
};

void glorot(nn::Linear& layer) {
  torch::NoGradGuard no_grad;
  nn::init::xavier_uniform_(layer->weight);
  nn::init::zeros_(layer->bias);
}

// Glorot-uniform weights drawn from `generator` (not torch's global one, which other threads
// share and a restored session has in another state), zero bias.
void glorot(nn::Linear& layer, at::Generator& generator) {
  torch::NoGradGuard no_grad;
  const at::Tensor w = layer->weight;
  const double bound = std::sqrt(6.0 / static_cast<double>(w.size(0) + w.size(1)));
  w.copy_((at::rand(w.sizes(), generator) * 2 - 1) * bound);
  layer->bias.zero_();
}

Net make_net(const LifelongVaeConfig& c, int j) {
  Net net;
  net.j = j;
  const int p = c.rows * c.cols;
  int in = p;
  for (int w : c.hidden) {
    net.encoder->push_back(nn::Linear(in, w));
    net.encoder->push_back(nn::BatchNorm1d(w));
    net.encoder->push_back(nn::ELU());
    in = w;
  }
  net.head = nn::Linear(in, j + 2 * c.f);
  net.latent_in = nn::Linear(j + c.f, c.hidden.back());
  glorot(net.head);
  glorot(net.latent_in);
  in = c.hidden.back();
  net.decoder->push_back(nn::BatchNorm1d(in));
  net.decoder->push_back(nn::ELU());
  for (auto it = c.hidden.rbegin() + 1; it != c.hidden.rend(); ++it) {
    net.decoder->push_back(nn::Linear(in, *it));
    net.decoder->push_back(nn::BatchNorm1d(*it));
    net.decoder->push_back(nn::ELU());
    in = *it;
  }
  net.decoder->push_back(nn::Linear(in, p));
  return net;
}

// Copies every parameter and buffer of `from` into `to` (same architecture).
void copy_module(const nn::Module& from, nn::Module& to) {
  torch::NoGradGuard no_grad;
  auto src = from.named_parameters(true);
  for (auto& dst : to.named_parameters(true)) dst.value().copy_(src[dst.key()]);
  auto srcb = from.named_buffers(true);
  for (auto& dst : to.named_buffers(true)) dst.value().copy_(srcb[dst.key()]);
}

int64_t bytes_of(const nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel() * static_cast<int64_t>(p.element_size());
  for (const auto& b : m.buffers()) {
    if (b.is_floating_point()) n += b.numel() * static_cast<int64_t>(b.element_size());
  }
  return n;
}

Status bad(const std::string& what) {
  return {ErrorCode::invalid_argument, "lifelong_vae: " + what};
}

}  // namespace

Status validate(const LifelongVaeConfig& c) {
  if (c.j < 1 || c.j > 4096) return bad("j must be in [1, 4096]");
  if (c.f < 0 || c.f > 4096) return bad("f must be in [0, 4096]");
  if (c.hidden.empty()) return bad("hidden needs at least one layer");
  for (int w : c.hidden) {
    if (w < 1 || w > 16384) return bad("hidden widths must be in [1, 16384]");
  }
  if (c.rows < 1 || c.cols < 1 || c.rows > 4096 || c.cols > 4096) return bad("bad image shape");
  if (!(c.lr > 0) || !std::isfinite(c.lr)) return bad("lr must be finite and > 0");
  if (!(c.tau > 0) || !std::isfinite(c.tau)) return bad("tau must be finite and > 0");
  if (!(c.consistency >= 0) || !std::isfinite(c.consistency)) {
    return bad("consistency must be finite and >= 0");
  }
  if (!std::isfinite(c.mutual_info)) return bad("mutual_info (lambda) must be finite");
  return {};
}

at::Tensor categorical_kl_padded(const at::Tensor& p_logits, const at::Tensor& q_logits) {
  const at::Tensor log_p = at::log_softmax(p_logits, 1);
  const at::Tensor log_q = at::log_softmax(q_logits, 1).narrow(1, 0, p_logits.size(1));
  // The padded values of p have probability 0 and contribute nothing.
  return (log_p.exp() * (log_p - log_q)).sum(1);
}

at::Tensor gaussian_kl_standard(const at::Tensor& mu, const at::Tensor& logvar) {
  return -0.5 * (1 + logvar - mu * mu - logvar.exp()).sum(1);
}

at::Tensor mutual_information(const at::Tensor& logits) {
  const at::Tensor log_q = at::log_softmax(logits, 1);
  const at::Tensor q = log_q.exp();
  const at::Tensor mean_q = q.mean(0);
  const at::Tensor marginal_entropy = -(mean_q * at::log(mean_q.clamp_min(1e-12))).sum();
  const at::Tensor conditional_entropy = -(q * log_q).sum(1).mean();
  return marginal_entropy - conditional_entropy;
}

struct LifelongVae::Impl {
  LifelongVaeConfig config;
  c10::Device device{c10::kCPU};
  Net student;
  std::unique_ptr<Net> teacher;
  int distributions = 0;
  std::unique_ptr<torch::optim::Adam> optimizer;
  at::Generator generator;  // Gumbel, reparameterisation and prior noise

  struct Latent {
    at::Tensor logits, mu, logvar;
  };
  Latent encode(Net& net, const at::Tensor& x) const {
    const at::Tensor out = net.head->forward(net.encoder->forward(x));
    const int64_t f = config.f;
    return {out.narrow(1, 0, net.j), out.narrow(1, net.j, f), out.narrow(1, net.j + f, f)};
  }
  at::Tensor decode(Net& net, const at::Tensor& zd, const at::Tensor& zc) const {
    return net.decoder->forward(net.latent_in->forward(at::cat({zd, zc}, 1)));
  }
  at::Tensor normal(int64_t n) { return at::randn({n, config.f}, generator).to(device); }
  // Bernoulli means of samples of `net` with z_d = `values` [n].
  at::Tensor sample(Net& net, const at::Tensor& values) {
    torch::NoGradGuard no_grad;
    net.train(false);
    const at::Tensor zd = at::one_hot(values, net.j).to(at::kFloat).to(device);
    return at::sigmoid(decode(net, zd, normal(values.size(0)))).cpu();
  }
  void reset_optimizer() {
    optimizer = std::make_unique<torch::optim::Adam>(student.parameters(),
                                                     torch::optim::AdamOptions(config.lr));
  }
};

LifelongVae::LifelongVae(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LifelongVae::~LifelongVae() = default;

Expected<std::unique_ptr<LifelongVae>> LifelongVae::create(const LifelongVaeConfig& config) {
  if (Status s = validate(config); !s.ok()) return s;
  auto device = resolve_device(config.device);
  if (!device.ok()) return device.status();
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->device = *device;
  torch::manual_seed(config.seed);
  impl->student = make_net(config, config.j);
  impl->student.to(impl->device);
  impl->reset_optimizer();
  impl->generator = at::make_generator<at::CPUGeneratorImpl>(config.seed ^ 0x2545f4914f6cdd1dULL);
  return std::unique_ptr<LifelongVae>(new LifelongVae(std::move(impl)));
}

const LifelongVaeConfig& LifelongVae::config() const { return impl_->config; }
int LifelongVae::j() const { return impl_->student.j; }
int LifelongVae::teacher_j() const { return impl_->teacher ? impl_->teacher->j : 0; }
bool LifelongVae::has_teacher() const { return impl_->teacher != nullptr; }
int LifelongVae::distributions() const { return impl_->distributions; }

int64_t LifelongVae::synthetic_share(int64_t batch) const {
  if (!impl_->teacher || batch < 2) return 0;
  const double k = impl_->distributions;
  const auto share = static_cast<int64_t>(std::llround(static_cast<double>(batch) * k / (k + 1)));
  return std::min(share, batch - 1);
}

LifelongVaeStats LifelongVae::learn(const at::Tensor& x, int64_t synthetic) {
  Impl& m = *impl_;
  LifelongVaeStats stats;
  if (!m.teacher) synthetic = 0;
  at::Tensor batch = x.to(m.device, at::kFloat);
  at::Tensor teacher_x;
  if (synthetic > 0) {
    const at::Tensor values = at::randint(m.teacher->j, {synthetic}, m.generator);
    teacher_x = m.sample(*m.teacher, values).to(m.device);
    batch = at::cat({batch, teacher_x});
  }
  const int64_t n = batch.size(0);
  stats.real = x.size(0);
  stats.synthetic = synthetic;
  if (n == 0) return stats;
  m.student.train(true);
  m.optimizer->zero_grad();
  const Impl::Latent z = m.encode(m.student, batch);
  const GumbelSample zd =
      gumbel_softmax_hard(z.logits.unsqueeze(1).cpu(), m.config.tau, m.generator);
  const at::Tensor eps = m.normal(n);
  const at::Tensor zc = z.mu + at::exp(0.5 * z.logvar) * eps;
  const at::Tensor logits = m.decode(m.student, zd.one_hot.squeeze(1).to(m.device), zc);
  const double nd = static_cast<double>(n);
  const at::Tensor reconstruction =
      F::binary_cross_entropy_with_logits(
          logits, batch, F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kSum)) /
      nd;
  const at::Tensor log_q = at::log_softmax(z.logits, 1);
  const at::Tensor kl_d = (log_q.exp() * (log_q + std::log(m.student.j))).sum() / nd;
  const at::Tensor kl_c = gaussian_kl_standard(z.mu, z.logvar).sum() / nd;
  const at::Tensor mi = mutual_information(z.logits);
  at::Tensor loss = reconstruction + kl_d + kl_c - m.config.mutual_info * mi;
  if (synthetic > 0) {
    at::Tensor teacher_logits;
    {
      torch::NoGradGuard no_grad;
      m.teacher->train(false);
      teacher_logits = m.encode(*m.teacher, teacher_x).logits;
    }
    const at::Tensor consistency =
        categorical_kl_padded(teacher_logits, z.logits.narrow(0, stats.real, synthetic)).mean();
    stats.consistency = consistency.item<double>();
    if (m.config.consistency > 0) loss = loss + m.config.consistency * consistency;
  }
  loss.backward();
  stats.skipped = !step_if_finite(*m.optimizer, loss);
  stats.reconstruction = reconstruction.item<double>();
  stats.kl_discrete = kl_d.item<double>();
  stats.kl_continuous = kl_c.item<double>();
  stats.negative_elbo = stats.reconstruction + stats.kl_discrete + stats.kl_continuous;
  stats.mutual_info = mi.item<double>();
  if (synthetic == 0) {
    stats.real_reconstruction = stats.reconstruction;
    stats.real_kl = stats.kl_discrete + stats.kl_continuous;
  } else if (stats.real > 0) {
    torch::NoGradGuard no_grad;
    const int64_t r = stats.real;
    const double nr = static_cast<double>(r);
    stats.real_reconstruction =
        F::binary_cross_entropy_with_logits(
            logits.narrow(0, 0, r), batch.narrow(0, 0, r),
            F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kSum))
            .item<double>() /
        nr;
    const at::Tensor log_q_real = log_q.narrow(0, 0, r);
    stats.real_kl = ((log_q_real.exp() * (log_q_real + std::log(m.student.j))).sum() +
                     gaussian_kl_standard(z.mu.narrow(0, 0, r), z.logvar.narrow(0, 0, r)).sum())
                        .item<double>() /
                    nr;
  }
  return stats;
}

void LifelongVae::transition(bool new_distribution) {
  Impl& m = *impl_;
  // The student, frozen, becomes the teacher.
  auto teacher = std::make_unique<Net>(make_net(m.config, m.student.j));
  teacher->to(m.device);
  for (size_t i = 0; i < teacher->parts().size(); ++i) {
    copy_module(*m.student.parts()[i], *teacher->parts()[i]);
  }
  for (auto& p : teacher->parameters()) p.set_requires_grad(false);
  teacher->train(false);
  // The new student: the teacher's weights, J + 1 when growing (the latent's two adjacent
  // layers then get a fresh Glorot initialisation from the VAE's own noise stream, so a
  // restored VAE grows exactly as the original), fresh BatchNorm statistics.
  const bool grow = m.config.grow && new_distribution;
  Net student = make_net(m.config, grow ? teacher->j + 1 : teacher->j);
  student.to(m.device);
  copy_module(*teacher->encoder, *student.encoder);
  copy_module(*teacher->decoder, *student.decoder);
  if (grow) {
    glorot(student.head, m.generator);
    glorot(student.latent_in, m.generator);
  } else {
    copy_module(*teacher->head, *student.head);
    copy_module(*teacher->latent_in, *student.latent_in);
  }
  for (nn::Module* part : student.parts()) {
    for (const auto& module : part->modules(true)) {
      if (auto* bn = dynamic_cast<nn::BatchNorm1dImpl*>(module.get())) bn->reset_running_stats();
    }
  }
  m.student = std::move(student);
  m.teacher = std::move(teacher);
  m.reset_optimizer();
  if (new_distribution) ++m.distributions;
}

Expected<at::Tensor> LifelongVae::sample_teacher(int64_t n) {
  Impl& m = *impl_;
  if (!m.teacher) {
    return Status(ErrorCode::invalid_argument, "lifelong_vae: no teacher before a transition");
  }
  return m.sample(*m.teacher, at::randint(m.teacher->j, {n}, m.generator));
}

at::Tensor LifelongVae::sample_student(const at::Tensor& values) {
  return impl_->sample(impl_->student, values.to(at::kLong));
}

at::Tensor LifelongVae::negative_elbo(const at::Tensor& x, bool exact, uint64_t noise_seed) {
  Impl& m = *impl_;
  torch::NoGradGuard no_grad;
  m.student.train(false);
  const int64_t j = m.student.j;
  at::Generator noise =
      noise_seed != 0 ? at::make_generator<at::CPUGeneratorImpl>(noise_seed) : m.generator;
  auto nll = [&](const at::Tensor& xb, const at::Tensor& values, const Impl::Latent& z) {
    const at::Tensor zd = at::one_hot(values, j).to(at::kFloat).to(m.device);
    const at::Tensor eps = at::randn({xb.size(0), m.config.f}, noise).to(m.device);
    const at::Tensor zc = z.mu + at::exp(0.5 * z.logvar) * eps;
    return F::binary_cross_entropy_with_logits(
               m.decode(m.student, zd, zc), xb,
               F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kNone))
        .sum(1);
  };
  std::vector<at::Tensor> out;
  for (int64_t begin = 0; begin < x.size(0); begin += kEvalChunk) {
    const int64_t len = std::min(kEvalChunk, x.size(0) - begin);
    const at::Tensor xb = x.narrow(0, begin, len).to(m.device, at::kFloat);
    const Impl::Latent z = m.encode(m.student, xb);
    const at::Tensor log_q = at::log_softmax(z.logits, 1);
    const at::Tensor q = log_q.exp();
    at::Tensor expected_nll;
    if (exact) {
      expected_nll = at::zeros({len}, xb.options());
      for (int64_t v = 0; v < j; ++v) {
        expected_nll = expected_nll + q.select(1, v) * nll(xb, at::full({len}, v, at::kLong), z);
      }
    } else {
      expected_nll = nll(xb, at::multinomial(q.cpu(), 1, true, noise).squeeze(1), z);
    }
    const at::Tensor kl_d = (q * (log_q + std::log(static_cast<double>(j)))).sum(1);
    out.push_back((expected_nll + kl_d + gaussian_kl_standard(z.mu, z.logvar)).cpu());
  }
  return out.empty() ? at::empty({0}) : at::cat(out);
}

at::Tensor LifelongVae::assign(const at::Tensor& x) {
  Impl& m = *impl_;
  torch::NoGradGuard no_grad;
  m.student.train(false);
  return m.encode(m.student, x.to(m.device, at::kFloat)).logits.argmax(1).cpu();
}

Expected<double> LifelongVae::consistency(const at::Tensor& x) {
  Impl& m = *impl_;
  if (!m.teacher) {
    return Status(ErrorCode::invalid_argument, "lifelong_vae: no teacher to compare with");
  }
  if (x.size(0) == 0) return 1.0;
  torch::NoGradGuard no_grad;
  const at::Tensor xd = x.to(m.device, at::kFloat);
  m.teacher->train(false);
  const at::Tensor teacher_values = m.encode(*m.teacher, xd).logits.argmax(1).cpu();
  return (assign(x) == teacher_values).to(at::kDouble).mean().item<double>();
}

int64_t LifelongVae::weight_bytes() const {
  int64_t n = 0;
  for (const nn::Module* part : impl_->student.parts()) n += bytes_of(*part);
  return n;
}

int64_t LifelongVae::decoder_weight_bytes() const {
  return bytes_of(*impl_->student.latent_in) + bytes_of(*impl_->student.decoder);
}

namespace {

const char* const kPartNames[] = {"encoder", "head", "latent_in", "decoder"};

void save_net(TensorArchive& a, const std::string& key, const Net& net) {
  a.put(key + "/j", at::full({1}, static_cast<int64_t>(net.j), at::kLong));
  const auto parts = net.parts();
  for (size_t i = 0; i < parts.size(); ++i) save_module(a, key + "/" + kPartNames[i], *parts[i]);
}

Expected<Net> load_net(const TensorArchive& a, const std::string& key,
                       const LifelongVaeConfig& config, c10::Device device) {
  auto j = a.get(key + "/j", at::kLong, {1});
  if (!j.ok()) return j.status();
  const int64_t jv = j->item<int64_t>();
  if (jv < 1 || jv > 4096) {
    return Status(ErrorCode::malformed, "lifelong_vae state: " + key + "/j out of range");
  }
  Net net = make_net(config, static_cast<int>(jv));
  net.to(device);
  const auto parts = net.parts();
  for (size_t i = 0; i < parts.size(); ++i) {
    if (Status s = load_module(a, key + "/" + kPartNames[i], *parts[i]); !s.ok()) return s;
  }
  return net;
}

}  // namespace

std::string LifelongVae::save_state() const {
  const Impl& m = *impl_;
  TensorArchive a;
  save_net(a, "student", m.student);
  if (m.teacher) save_net(a, "teacher", *m.teacher);
  a.put("distributions", at::full({1}, static_cast<int64_t>(m.distributions), at::kLong));
  save_adam(a, "adam", *m.optimizer);
  save_generator(a, "generator", m.generator);
  return a.to_bytes();
}

Status LifelongVae::load_state(const std::string& bytes) {
  Impl& m = *impl_;
  return torch_guarded("lifelong_vae state", [&]() -> Status {
    auto a = TensorArchive::from_bytes(bytes);
    if (!a.ok()) return a.status();
    auto student = load_net(*a, "student", m.config, m.device);
    if (!student.ok()) return student.status();
    std::unique_ptr<Net> teacher;
    if (a->contains("teacher/j")) {
      auto t = load_net(*a, "teacher", m.config, m.device);
      if (!t.ok()) return t.status();
      teacher = std::make_unique<Net>(std::move(*t));
      for (auto& p : teacher->parameters()) p.set_requires_grad(false);
      teacher->train(false);
    }
    auto distributions = a->get("distributions", at::kLong, {1});
    if (!distributions.ok()) return distributions.status();
    const int64_t d = distributions->item<int64_t>();
    if (d < 0 || d > (1 << 20) || (d > 0) != (teacher != nullptr)) {
      return Status(ErrorCode::malformed, "lifelong_vae state: distributions out of range");
    }
    auto optimizer = std::make_unique<torch::optim::Adam>(student->parameters(),
                                                          torch::optim::AdamOptions(m.config.lr));
    if (Status s = load_adam(*a, "adam", *optimizer); !s.ok()) return s;
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(0);
    if (Status s = load_generator(*a, "generator", generator); !s.ok()) return s;
    m.student = std::move(*student);
    m.teacher = std::move(teacher);
    m.distributions = static_cast<int>(d);
    m.optimizer = std::move(optimizer);
    m.generator = generator;
    return Status();
  });
}

}  // namespace engram
