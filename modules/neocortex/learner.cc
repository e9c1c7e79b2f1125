#include "modules/neocortex/learner.h"

#include <torch/nn/functional/loss.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/optim/adam.h>
#include <torch/utils.h>

#include "modules/common/device.h"
#include "modules/common/finite_step.h"
#include "modules/common/torch_state.h"

namespace engram {

struct Learner::Impl {
  LearnerConfig config;
  c10::Device device{c10::kCPU};
  std::shared_ptr<torch::nn::SequentialImpl> net;
  std::unique_ptr<torch::optim::Adam> optimizer;
  int64_t skipped_steps = 0;

  // Logits with inactive units pushed out of the competition.
  at::Tensor masked_logits(const at::Tensor& x, const at::Tensor& active) {
    return net->forward(x.to(device)).masked_fill(active.to(device).logical_not(), -1e9);
  }
};

Learner::Learner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Learner::~Learner() = default;

Expected<std::unique_ptr<Learner>> Learner::create(const LearnerConfig& config) {
  if (!(config.lr > 0)) return Status(ErrorCode::invalid_argument, "neocortex: lr must be > 0");
  auto device = resolve_device(config.device);
  if (!device.ok()) return device.status();
  torch::manual_seed(config.seed);
  auto net = make_classifier(config.classifier);
  if (!net.ok()) return net.status();
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->device = *device;
  impl->net = std::move(*net);
  impl->net->to(impl->device);
  impl->optimizer = std::make_unique<torch::optim::Adam>(impl->net->parameters(),
                                                         torch::optim::AdamOptions(config.lr));
  return std::unique_ptr<Learner>(new Learner(std::move(impl)));
}

StepStats Learner::step(const at::Tensor& x, const at::Tensor& y, const at::Tensor& xr,
                        const at::Tensor& yr, const at::Tensor& active, double replay_weight) {
  namespace F = torch::nn::functional;
  Impl& m = *impl_;
  m.net->train();
  m.optimizer->zero_grad();
  StepStats stats;
  const bool replay = xr.defined() && xr.size(0) > 0;
  // One forward pass over real and replayed examples together: a batch of 2B costs less than
  // two of B, and without batch statistics in the networks the result is the same.
  const int64_t n = x.size(0);
  at::Tensor logits = m.masked_logits(replay ? at::cat({x, xr.to(x.scalar_type())}) : x, active);
  at::Tensor loss = F::cross_entropy(logits.narrow(0, 0, n), y.to(m.device));
  stats.loss_real = loss.item<double>();
  if (replay) {
    at::Tensor replay_loss = F::cross_entropy(logits.narrow(0, n, xr.size(0)), yr.to(m.device));
    stats.loss_replay = replay_loss.item<double>();
    loss = (1.0 - replay_weight) * loss + replay_weight * replay_loss;
  }
  loss.backward();
  stats.skipped = !step_if_finite(*m.optimizer, loss);
  if (stats.skipped) ++m.skipped_steps;
  return stats;
}

double Learner::accuracy(const at::Tensor& x, const at::Tensor& y, const at::Tensor& active) {
  if (x.size(0) == 0) return 0.0;
  torch::NoGradGuard no_grad;
  impl_->net->eval();
  at::Tensor predicted = impl_->masked_logits(x, active).argmax(1).cpu();
  return predicted.eq(y.to(at::kLong)).to(at::kDouble).mean().item<double>();
}

at::Tensor Learner::predict(const at::Tensor& x, const at::Tensor& active) {
  torch::NoGradGuard no_grad;
  impl_->net->eval();
  at::Tensor logits =
      active.defined() ? impl_->masked_logits(x, active) : impl_->net->forward(x.to(impl_->device));
  return at::softmax(logits, 1).cpu();
}

void Learner::set_learning_rate(double lr) {
  for (auto& group : impl_->optimizer->param_groups()) {
    static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
  }
}

int64_t Learner::weight_bytes() const {
  int64_t n = 0;
  for (const auto& p : impl_->net->parameters())
    n += p.numel() * static_cast<int64_t>(p.element_size());
  return n;
}

int Learner::classes() const { return impl_->config.classifier.classes; }

int64_t Learner::skipped_steps() const { return impl_->skipped_steps; }

// Archive tensors: net/..., optimizer/... (modules/common/torch_state.h).
std::string Learner::save_state() const {
  TensorArchive archive;
  save_module(archive, "net", *impl_->net);
  save_adam(archive, "optimizer", *impl_->optimizer);
  return archive.to_bytes();
}

Status Learner::load_state(const std::string& bytes) {
  // Load into a fresh learner of the same configuration and take its state on success.
  auto fresh = create(impl_->config);
  if (!fresh.ok()) return fresh.status();
  Impl& f = *fresh.value()->impl_;
  auto archive = TensorArchive::from_bytes(bytes);
  if (!archive.ok()) return archive.status();
  if (Status s = load_module(*archive, "net", *f.net); !s.ok()) return s;
  if (Status s = load_adam(*archive, "optimizer", *f.optimizer); !s.ok()) return s;
  f.skipped_steps = impl_->skipped_steps;
  impl_ = std::move(fresh.value()->impl_);
  return Status();
}

}  // namespace engram
