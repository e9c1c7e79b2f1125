#include "modules/association/gaussian_vae.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/functional.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/adam.h>
#include <torch/utils.h>

#include "modules/common/device.h"
#include "modules/common/finite_step.h"

namespace engram {
namespace nn = torch::nn;
namespace F = torch::nn::functional;

namespace {

int64_t bytes_of(const nn::Sequential& net) {
  int64_t n = 0;
  for (const auto& p : net->parameters()) n += p.numel() * static_cast<int64_t>(p.element_size());
  return n;
}

}  // namespace

Status validate(const GaussianVaeConfig& c) {
  if (c.h < 1 || c.h > 65536) return {ErrorCode::invalid_argument, "gvae: h must be in [1, 65536]"};
  if (c.rows < 1 || c.cols < 1 || c.rows > 4096 || c.cols > 4096) {
    return {ErrorCode::invalid_argument, "gvae: bad image shape"};
  }
  for (int w : c.hidden) {
    if (w < 1 || w > 16384) {
      return {ErrorCode::invalid_argument, "gvae: hidden widths must be in [1, 16384]"};
    }
  }
  if (!(c.lr > 0)) return {ErrorCode::invalid_argument, "gvae: lr must be > 0"};
  if (!(c.kl_weight >= 0)) return {ErrorCode::invalid_argument, "gvae: kl_weight must be >= 0"};
  return {};
}

struct GaussianVae::Impl {
  GaussianVaeConfig config;
  c10::Device device{c10::kCPU};
  nn::Sequential encoder, decoder;  // P -> ... -> 2h (mu, logvar); h -> ... -> P (logits)
  std::unique_ptr<torch::optim::Adam> optimizer;
  at::Generator generator;  // reparameterisation noise
};

GaussianVae::GaussianVae(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GaussianVae::~GaussianVae() = default;

Expected<std::unique_ptr<GaussianVae>> GaussianVae::create(const GaussianVaeConfig& config) {
  if (Status s = validate(config); !s.ok()) return s;
  auto device = resolve_device(config.device);
  if (!device.ok()) return device.status();
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->device = *device;
  torch::manual_seed(config.seed);
  const int p = config.rows * config.cols;
  int in = p;
  for (int w : config.hidden) {
    impl->encoder->push_back(nn::Linear(in, w));
    impl->encoder->push_back(nn::ReLU());
    in = w;
  }
  impl->encoder->push_back(nn::Linear(in, 2 * config.h));
  in = config.h;
  for (auto it = config.hidden.rbegin(); it != config.hidden.rend(); ++it) {
    impl->decoder->push_back(nn::Linear(in, *it));
    impl->decoder->push_back(nn::ReLU());
    in = *it;
  }
  impl->decoder->push_back(nn::Linear(in, p));
  impl->encoder->to(impl->device);
  impl->decoder->to(impl->device);
  std::vector<at::Tensor> params = impl->encoder->parameters();
  for (auto& w : impl->decoder->parameters()) params.push_back(w);
  impl->optimizer =
      std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(config.lr));
  impl->generator = at::make_generator<at::CPUGeneratorImpl>(config.seed ^ 0x5851f42d4c957f2dULL);
  return std::unique_ptr<GaussianVae>(new GaussianVae(std::move(impl)));
}

const GaussianVaeConfig& GaussianVae::config() const { return impl_->config; }
int64_t GaussianVae::bits_per_code() const { return 32 * static_cast<int64_t>(impl_->config.h); }

double GaussianVae::learn(const at::Tensor& x, GaussianVaeStats* stats) {
  Impl& m = *impl_;
  const int64_t h = m.config.h;
  m.encoder->train();
  m.decoder->train();
  m.optimizer->zero_grad();
  at::Tensor xd = x.to(m.device);
  at::Tensor out = m.encoder->forward(xd);
  at::Tensor mu = out.narrow(1, 0, h);
  at::Tensor logvar = out.narrow(1, h, h);
  // Noise is drawn on the CPU generator, then moved: reproducible on every device.
  at::Tensor eps = at::randn({x.size(0), h}, m.generator).to(m.device);
  at::Tensor z = mu + at::exp(0.5 * logvar) * eps;
  at::Tensor logits = m.decoder->forward(z);
  const double n = static_cast<double>(x.size(0));
  at::Tensor reconstruction =
      F::binary_cross_entropy_with_logits(
          logits, xd, F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kSum)) /
      n;
  at::Tensor kl = -0.5 * (1 + logvar - mu * mu - at::exp(logvar)).sum() / n;
  at::Tensor loss = reconstruction + m.config.kl_weight * kl;
  loss.backward();
  const bool applied = step_if_finite(*m.optimizer, loss);
  if (stats != nullptr) {
    stats->skipped = !applied;
    stats->reconstruction = reconstruction.item<double>();
    stats->kl = kl.item<double>();
  }
  return loss.item<double>();
}

at::Tensor GaussianVae::encode(const at::Tensor& x) {
  torch::NoGradGuard no_grad;
  impl_->encoder->eval();
  return impl_->encoder->forward(x.to(impl_->device))
      .narrow(1, 0, impl_->config.h)
      .contiguous()
      .cpu();
}

at::Tensor GaussianVae::decode(const at::Tensor& z) {
  torch::NoGradGuard no_grad;
  impl_->decoder->eval();
  return at::sigmoid(impl_->decoder->forward(z.to(impl_->device))).cpu();
}

int64_t GaussianVae::weight_bytes() const {
  return bytes_of(impl_->encoder) + bytes_of(impl_->decoder);
}
int64_t GaussianVae::decoder_weight_bytes() const { return bytes_of(impl_->decoder); }

}  // namespace engram
