#include "modules/association/discrete_vae.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/functional.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/adam.h>
#include <torch/utils.h>

#include <optional>

#include "modules/association/gumbel_softmax.h"
#include "modules/common/device.h"
#include "modules/common/finite_step.h"
#include "modules/common/int8_weights.h"
#include "modules/common/torch_state.h"
#include "modules/distributed/gradient_sync.h"

namespace engram {
namespace nn = torch::nn;
namespace F = torch::nn::functional;

namespace {

int conv_filters(const DiscreteVaeConfig& c) {
  const int f = c.hidden.empty() ? 0 : c.hidden[0];
  return f > 0 ? f : std::max(8, c.c * c.l / 4);
}

// Dense encoder P -> hidden... -> c*l and the mirrored decoder c*l -> ...hidden -> P (logits).
void build_mlp(const DiscreteVaeConfig& c, nn::Sequential& enc, nn::Sequential& dec) {
  const int p = c.rows * c.cols, code = c.c * c.l;
  int in = p;
  for (int h : c.hidden) {
    enc->push_back(nn::Linear(in, h));
    enc->push_back(nn::ReLU());
    in = h;
  }
  enc->push_back(nn::Linear(in, code));
  in = code;
  for (auto it = c.hidden.rbegin(); it != c.hidden.rend(); ++it) {
    dec->push_back(nn::Linear(in, *it));
    dec->push_back(nn::ReLU());
    in = *it;
  }
  dec->push_back(nn::Linear(in, p));
}

// papers/000: three 5x5 convolutions with stride 2 (28 -> 14 -> 7 -> 4) and three transposed
// convolutions back (4 -> 7 -> 14 -> 28), c*l/4 filters per layer.
void build_conv(const DiscreteVaeConfig& c, nn::Sequential& enc, nn::Sequential& dec) {
  const int f = conv_filters(c), code = c.c * c.l;
  auto conv = [](int in, int out) {
    return nn::Conv2d(nn::Conv2dOptions(in, out, 5).stride(2).padding(2));
  };
  auto deconv = [](int in, int out, int out_pad) {
    return nn::ConvTranspose2d(
        nn::ConvTranspose2dOptions(in, out, 5).stride(2).padding(2).output_padding(out_pad));
  };
  enc->push_back(nn::Unflatten(nn::UnflattenOptions(1, {1, c.rows, c.cols})));
  enc->push_back(conv(1, f));
  enc->push_back(nn::ReLU());
  enc->push_back(conv(f, f));
  enc->push_back(nn::ReLU());
  enc->push_back(conv(f, f));
  enc->push_back(nn::ReLU());
  enc->push_back(nn::Flatten());
  enc->push_back(nn::Linear(f * 4 * 4, code));
  dec->push_back(nn::Linear(code, f * 4 * 4));
  dec->push_back(nn::ReLU());
  dec->push_back(nn::Unflatten(nn::UnflattenOptions(1, {f, 4, 4})));
  dec->push_back(deconv(f, f, 0));
  dec->push_back(nn::ReLU());
  dec->push_back(deconv(f, f, 1));
  dec->push_back(nn::ReLU());
  dec->push_back(deconv(f, 1, 1));
  dec->push_back(nn::Flatten());
}

int64_t bytes_of(const nn::Sequential& net) {
  int64_t n = 0;
  for (const auto& p : net->parameters()) n += p.numel() * static_cast<int64_t>(p.element_size());
  return n;
}

}  // namespace

Status validate(const DiscreteVaeConfig& c) {
  if (c.c < 1 || c.c > 65536) return {ErrorCode::invalid_argument, "dvae: c must be in [1, 65536]"};
  if (c.l < 2 || c.l > 65536) return {ErrorCode::invalid_argument, "dvae: l must be in [2, 65536]"};
  if (c.arch != "mlp" && c.arch != "conv") {
    return {ErrorCode::invalid_argument,
            "dvae: arch must be \"mlp\" or \"conv\", not \"" + c.arch + "\""};
  }
  if (c.arch == "conv" && (c.rows != 28 || c.cols != 28)) {
    return {ErrorCode::invalid_argument, "dvae: arch \"conv\" needs 28x28 images"};
  }
  if (c.rows < 1 || c.cols < 1) return {ErrorCode::invalid_argument, "dvae: bad image shape"};
  for (int h : c.hidden) {
    if (h < (c.arch == "conv" ? 0 : 1) || h > 16384) {
      return {ErrorCode::invalid_argument, "dvae: hidden widths must be in [1, 16384]"};
    }
  }
  if (!(c.tau > 0)) return {ErrorCode::invalid_argument, "dvae: tau must be > 0"};
  if (!(c.lr > 0)) return {ErrorCode::invalid_argument, "dvae: lr must be > 0"};
  if (c.steps < 1 || c.steps > 1000) {
    return {ErrorCode::invalid_argument, "dvae: steps must be in [1, 1000]"};
  }
  if (c.weights != "f32" && c.weights != "int8") {
    return {ErrorCode::invalid_argument,
            "dvae: weights must be \"f32\" or \"int8\", not \"" + c.weights + "\""};
  }
  if (c.kl_weight < 0 || c.distill_weight < 0) {
    return {ErrorCode::invalid_argument, "dvae: kl_weight and distill_weight must be >= 0"};
  }
  return {};
}

struct DiscreteVae::Impl {
  DiscreteVaeConfig config;
  c10::Device device{c10::kCPU};
  nn::Sequential encoder, decoder;
  nn::Sequential frozen{nullptr};          // decoder copy taken at the last consolidation
  std::optional<Int8Weights> frozen_int8;  // its stored form when config.weights is "int8"
  std::unique_ptr<torch::optim::Adam> optimizer;
  at::Generator generator;
  std::shared_ptr<GradientSync> sync;  // data-parallel learning; null alone

  at::Tensor logits(const at::Tensor& x) {
    return encoder->forward(x.to(device)).view({-1, config.c, config.l});
  }
};

DiscreteVae::DiscreteVae(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DiscreteVae::~DiscreteVae() = default;

Expected<std::unique_ptr<DiscreteVae>> DiscreteVae::create(const DiscreteVaeConfig& config) {
  if (Status s = validate(config); !s.ok()) return s;
  auto device = resolve_device(config.device);
  if (!device.ok()) return device.status();
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->device = *device;
  torch::manual_seed(config.seed);
  if (config.arch == "mlp") {
    build_mlp(config, impl->encoder, impl->decoder);
  } else {
    build_conv(config, impl->encoder, impl->decoder);
  }
  impl->encoder->to(impl->device);
  impl->decoder->to(impl->device);
  std::vector<at::Tensor> params = impl->encoder->parameters();
  for (auto& p : impl->decoder->parameters()) params.push_back(p);
  impl->optimizer =
      std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(config.lr));
  impl->generator = at::make_generator<at::CPUGeneratorImpl>(config.seed ^ 0x9e3779b97f4a7c15ULL);
  return std::unique_ptr<DiscreteVae>(new DiscreteVae(std::move(impl)));
}

CodeShape DiscreteVae::code_shape() const { return {impl_->config.c, impl_->config.l}; }

at::Tensor DiscreteVae::learn(const at::Tensor& x, const at::Tensor& stored_codes,
                              const at::Tensor& recalled, AssociationStats* stats) {
  at::Tensor codes;
  bool skipped = false;
  for (int k = 0; k < impl_->config.steps; ++k) {
    skipped |= !learn_step(x, stored_codes, recalled, stats, &codes);
  }
  if (stats != nullptr) stats->skipped = skipped;  // the statistics are the last step's
  return codes;
}

bool DiscreteVae::learn_step(const at::Tensor& x, const at::Tensor& stored_codes,
                             const at::Tensor& recalled, AssociationStats* stats,
                             at::Tensor* codes) {
  Impl& m = *impl_;
  const auto& cfg = m.config;
  m.encoder->train();
  m.decoder->train();
  m.optimizer->zero_grad();
  at::Tensor xd = x.to(m.device);
  at::Tensor logits = m.logits(xd);
  // Noise is drawn on the CPU generator, then moved: reproducible on every device.
  GumbelSample z = gumbel_softmax_hard(logits.cpu(), cfg.tau, m.generator);
  // One decoder pass over the sampled codes of x and the stored codes being distilled: a batch
  // of 2B costs less than two of B, and the decoder has no batch statistics.
  const bool distill = stored_codes.defined() && stored_codes.size(0) > 0;
  at::Tensor decoder_in = z.one_hot.to(m.device).flatten(1);
  if (distill) {
    decoder_in = at::cat({decoder_in, codes_to_one_hot(stored_codes, cfg.l).to(m.device)});
  }
  at::Tensor decoded = m.decoder->forward(decoder_in);
  // Per-row losses over the joint batch; only the small per-row vector is split, so the
  // backward pass never scatters slices of the large decoded tensor.
  at::Tensor target = distill ? at::cat({xd, recalled.to(m.device)}) : xd;
  at::Tensor per_row =
      F::binary_cross_entropy_with_logits(
          decoded, target, F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kNone))
          .sum(1);
  const int64_t n = x.size(0);
  at::Tensor reconstruction = per_row.narrow(0, 0, n).mean();
  at::Tensor loss = reconstruction;
  // KL(q || uniform) = sum q log(q * l), per example. Only a statistic when its weight is 0,
  // so then it is computed without a graph.
  auto kl_of = [&](const at::Tensor& lg) {
    return (softmax_last(lg) * (log_softmax_last(lg) + std::log(static_cast<double>(cfg.l))))
               .sum() /
           static_cast<double>(x.size(0));
  };
  at::Tensor kl;
  if (cfg.kl_weight > 0) {
    kl = kl_of(logits);
    loss = loss + cfg.kl_weight * kl;
  } else if (stats != nullptr) {
    torch::NoGradGuard no_grad;
    kl = kl_of(logits.detach());
  }
  at::Tensor distillation;
  if (distill) {
    distillation = per_row.narrow(0, n, stored_codes.size(0)).mean();
    loss = loss + cfg.distill_weight * distillation;
  }
  loss.backward();
  const bool applied =
      step_if_finite(*m.optimizer, loss, m.sync.get(), static_cast<double>(x.size(0)));
  if (stats != nullptr) {
    stats->skipped = !applied;
    stats->elbo = true;
    stats->reconstruction = reconstruction.item<double>();
    stats->kl = kl.defined() ? kl.item<double>() : 0.0;
    stats->distillation = distillation.defined() ? distillation.item<double>() : 0.0;
  }
  // Store the mode of q(z|x): the code the decoder was just trained to read back.
  *codes = logits.detach().argmax(-1).cpu();
  return applied;
}

Status DiscreteVae::set_gradient_sync(std::shared_ptr<GradientSync> sync) {
  if (sync) {
    std::vector<at::Tensor> params = impl_->encoder->parameters();
    for (auto& p : impl_->decoder->parameters()) params.push_back(p);
    if (Status s = sync->broadcast_parameters(params); !s.ok()) return s;
  }
  impl_->sync = std::move(sync);
  return Status();
}

at::Tensor DiscreteVae::encode(const at::Tensor& x) {
  torch::NoGradGuard no_grad;
  impl_->encoder->eval();
  return impl_->logits(x).argmax(-1).cpu();
}

at::Tensor DiscreteVae::recall(const at::Tensor& codes) {
  torch::NoGradGuard no_grad;
  nn::Sequential& net = impl_->frozen ? impl_->frozen : impl_->decoder;
  net->eval();
  return at::sigmoid(net->forward(codes_to_one_hot(codes, impl_->config.l).to(impl_->device)))
      .cpu();
}

at::Tensor DiscreteVae::decode_live(const at::Tensor& codes) {
  torch::NoGradGuard no_grad;
  impl_->decoder->eval();
  return at::sigmoid(
             impl_->decoder->forward(codes_to_one_hot(codes, impl_->config.l).to(impl_->device)))
      .cpu();
}

void DiscreteVae::consolidate() {
  Impl& m = *impl_;
  if (m.config.weights == "int8") {
    // The state at rest is the int8 form: the working copies continue from it, and the frozen
    // decoder is exactly it.
    Int8Weights::of(*m.encoder).apply_to(*m.encoder);
    m.frozen_int8 = Int8Weights::of(*m.decoder);
    m.frozen_int8->apply_to(*m.decoder);
  }
  m.frozen = std::dynamic_pointer_cast<nn::SequentialImpl>(m.decoder->clone(m.device));
  for (auto& p : m.frozen->parameters()) p.set_requires_grad(false);
}

int64_t DiscreteVae::decoder_weight_bytes() const {
  const Impl& m = *impl_;
  return m.config.weights == "int8" ? Int8Weights::bytes_of(*m.decoder) : bytes_of(m.decoder);
}
int64_t DiscreteVae::weight_bytes() const {
  const Impl& m = *impl_;
  const int64_t encoder =
      m.config.weights == "int8" ? Int8Weights::bytes_of(*m.encoder) : bytes_of(m.encoder);
  return encoder + decoder_weight_bytes();
}

}  // namespace engram

namespace engram {

// Archive keys: encoder, decoder, frozen (absent before the first consolidation), optimizer,
// generator.
// Archive tensors: encoder/..., decoder/..., frozen/... (after a consolidation; with int8
// weights in the int8 form of modules/common/int8_weights.h), optimizer/..., generator
// (modules/common/torch_state.h). encoder and decoder are the f32 working copies.
std::string DiscreteVae::save_state() const {
  const Impl& m = *impl_;
  TensorArchive archive;
  save_module(archive, "encoder", *m.encoder);
  save_module(archive, "decoder", *m.decoder);
  if (m.frozen_int8) {
    m.frozen_int8->save(archive, "frozen");
  } else if (m.frozen) {
    save_module(archive, "frozen", *m.frozen);
  }
  save_adam(archive, "optimizer", *m.optimizer);
  save_generator(archive, "generator", m.generator);
  return archive.to_bytes();
}

Status DiscreteVae::load_state(const std::string& bytes) {
  // Load into a fresh VAE of the same configuration, then take its state: a failure at any
  // point leaves this one untouched.
  auto fresh = create(impl_->config);
  if (!fresh.ok()) return fresh.status();
  Impl& f = *fresh.value()->impl_;
  auto archive = TensorArchive::from_bytes(bytes);
  if (!archive.ok()) return archive.status();
  if (Status s = load_module(*archive, "encoder", *f.encoder); !s.ok()) return s;
  if (Status s = load_module(*archive, "decoder", *f.decoder); !s.ok()) return s;
  // A consolidated VAE has a frozen decoder copy: any tensor under "frozen/".
  const auto decoder_params = f.decoder->named_parameters(true);
  if (archive->contains("frozen/" + decoder_params.begin()->key())) {
    f.frozen = std::dynamic_pointer_cast<nn::SequentialImpl>(f.decoder->clone(f.device));
    if (f.config.weights == "int8") {
      auto stored = Int8Weights::load(*archive, "frozen", *f.frozen);
      if (!stored.ok()) return stored.status();
      f.frozen_int8 = std::move(*stored);
      f.frozen_int8->apply_to(*f.frozen);
    } else if (Status s = load_module(*archive, "frozen", *f.frozen); !s.ok()) {
      return s;
    }
    for (auto& p : f.frozen->parameters()) p.set_requires_grad(false);
  }
  if (Status s = load_adam(*archive, "optimizer", *f.optimizer); !s.ok()) return s;
  if (Status s = load_generator(*archive, "generator", f.generator); !s.ok()) return s;
  impl_ = std::move(fresh.value()->impl_);
  return Status();
}

}  // namespace engram
