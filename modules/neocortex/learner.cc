#include "modules/neocortex/learner.h"

#include <torch/nn/functional/loss.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>
#include <torch/utils.h>

#include "modules/common/device.h"
#include "modules/common/finite_step.h"
#include "modules/common/torch_state.h"
#include "modules/distributed/gradient_sync.h"
#include "modules/neocortex/soft_targets.h"

namespace engram {

// The Learner's state; it is also the access a classifier memory gets after a real step.
struct Learner::Impl final : ClassifierAccess {
  LearnerConfig config;
  c10::Device device{c10::kCPU};
  std::shared_ptr<torch::nn::SequentialImpl> net;
  std::unique_ptr<torch::optim::Optimizer> optimizer;  // Adam or plain SGD (config.optimizer)
  torch::optim::Adam* adam = nullptr;                  // the optimizer when it is Adam
  int64_t skipped_steps = 0;
  // The classifier at the last consolidation (null before the first) and the classes it had
  // been trained on; `trained` accumulates the active units of every step since creation.
  std::shared_ptr<torch::nn::SequentialImpl> teacher;
  at::Tensor teacher_classes, trained;
  // teacher_classes.any(), kept so that a replay step needs no device sync to know it.
  bool teacher_knows_classes = false;
  std::unique_ptr<ClassifierMemory> memory;
  std::shared_ptr<GradientSync> sync;  // data-parallel learning; null alone

  // The units that compete: `active`, or all of them when the memory asks for a plain K-way
  // head (ClassifierMemory::all_outputs).
  at::Tensor competing(const at::Tensor& active) const {
    if (memory && memory->all_outputs()) return at::ones({active.size(0)}, at::kBool);
    return active.to(at::kBool);
  }
  // Logits with the units that do not compete pushed out of the competition.
  at::Tensor masked_logits(const at::Tensor& x, const at::Tensor& active) {
    return net->forward(x.to(device)).masked_fill(competing(active).to(device).logical_not(), -1e9);
  }
  // The teacher's logits (no gradient) over its own classes, the others pushed out.
  at::Tensor teacher_logits(const at::Tensor& x) {
    torch::NoGradGuard no_grad;
    return teacher->forward(x.to(device)).masked_fill(teacher_classes.logical_not(), -1e9);
  }
  // The teacher becomes a frozen copy of the classifier, knowing the classes trained so far.
  void take_teacher() {
    auto copy = std::dynamic_pointer_cast<torch::nn::SequentialImpl>(net->clone());
    for (auto& p : copy->parameters()) p.set_requires_grad(false);
    copy->eval();
    set_teacher(copy, trained.clone());
  }
  // The one place that sets the teacher, its classes and whether it knows any.
  void set_teacher(std::shared_ptr<torch::nn::SequentialImpl> frozen, const at::Tensor& classes) {
    teacher = std::move(frozen);
    teacher_classes = classes.to(device);
    teacher_knows_classes = teacher_classes.any().item<bool>();
  }

  // ClassifierAccess (classifier_memory.h).
  at::Tensor logits(const at::Tensor& x) override {
    net->train();
    return net->forward(x.to(device));
  }
  bool has_frozen() const override { return teacher != nullptr; }
  at::Tensor frozen_logits(const at::Tensor& x) override { return teacher->forward(x.to(device)); }
  at::Tensor frozen_classes() const override { return teacher_classes; }
  void refresh_frozen() override { take_teacher(); }
  bool step(const at::Tensor& loss) override {
    optimizer->zero_grad();
    loss.backward();
    if (step_if_finite(*optimizer, loss, sync.get())) return true;
    ++skipped_steps;
    return false;
  }
};

Learner::Learner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Learner::~Learner() = default;

Expected<std::unique_ptr<Learner>> Learner::create(const LearnerConfig& config) {
  if (!(config.lr > 0)) return Status(ErrorCode::invalid_argument, "neocortex: lr must be > 0");
  if (config.optimizer != "adam" && config.optimizer != "sgd") {
    return Status(ErrorCode::invalid_argument,
                  "neocortex: optimizer \"" + config.optimizer + "\" is not adam or sgd");
  }
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
  impl->trained = at::zeros({config.classifier.classes}, at::kBool);
  if (config.optimizer == "sgd") {
    impl->optimizer = std::make_unique<torch::optim::SGD>(impl->net->parameters(),
                                                          torch::optim::SGDOptions(config.lr));
  } else {
    auto adam = std::make_unique<torch::optim::Adam>(impl->net->parameters(),
                                                     torch::optim::AdamOptions(config.lr));
    impl->adam = adam.get();
    impl->optimizer = std::move(adam);
  }
  return std::unique_ptr<Learner>(new Learner(std::move(impl)));
}

StepStats Learner::step(const at::Tensor& x, const at::Tensor& y, const at::Tensor& xr,
                        const at::Tensor& yr, const at::Tensor& active, double replay_weight) {
  StepWeights w;
  w.replay_weight = replay_weight;
  return step(x, y, xr, yr, active, w);
}

StepStats Learner::step(const at::Tensor& x, const at::Tensor& y, const at::Tensor& xr,
                        const at::Tensor& yr, const at::Tensor& active, const StepWeights& w) {
  namespace F = torch::nn::functional;
  Impl& m = *impl_;
  m.net->train();
  m.optimizer->zero_grad();
  const at::Tensor competing = m.competing(active);
  m.trained.logical_or_(competing.cpu());
  StepStats stats;
  const bool replay = xr.defined() && xr.size(0) > 0;
  const int64_t n = x.size(0);
  if (n == 0 && !replay) {  // nothing to learn from; the other ranks may have something
    if (m.sync) (void)step_if_finite(*m.optimizer, at::Tensor(), m.sync.get(), 0.0);
    return stats;
  }
  // One forward pass over real and replayed examples together: a batch of 2B costs less than
  // two of B, and without batch statistics in the networks the result is the same.
  const at::Tensor inputs = replay ? at::cat({x, xr.to(x.scalar_type())}) : x;
  at::Tensor logits = m.masked_logits(inputs, active);
  at::Tensor loss;
  if (n > 0) {
    loss = F::cross_entropy(logits.narrow(0, 0, n), y.to(m.device));
    stats.loss_real = loss.item<double>();
    if (m.memory && m.teacher) {
      at::Tensor extra =
          m.memory->real_batch_loss(logits.narrow(0, 0, n), m.teacher_logits(x), m.teacher_classes);
      if (extra.defined()) loss = loss + extra;
    }
  }
  if (replay) {
    const at::Tensor replayed = logits.narrow(0, n, xr.size(0));
    at::Tensor replay_loss = at::zeros({}, logits.options());
    if (w.label_weight > 0) {
      replay_loss = replay_loss + w.label_weight * F::cross_entropy(replayed, yr.to(m.device));
    }
    if (w.soft_weight > 0 && m.teacher && m.teacher_knows_classes) {
      replay_loss = replay_loss + w.soft_weight * soft_target_loss(replayed, m.teacher_logits(xr),
                                                                   m.teacher_classes, competing,
                                                                   w.temperature);
    }
    stats.loss_replay = replay_loss.item<double>();
    loss = n > 0 ? (1.0 - w.replay_weight) * loss + w.replay_weight * replay_loss : replay_loss;
  }
  loss.backward();
  const double rows = static_cast<double>(n + (replay ? xr.size(0) : 0));
  stats.skipped = !step_if_finite(*m.optimizer, loss, m.sync.get(), rows);
  if (stats.skipped) ++m.skipped_steps;
  // The classifier memory's own steps (ARM's recall and distillation), after the real step.
  if (m.memory && n > 0) stats.memory = m.memory->after_real_step(m, x, y, competing);
  return stats;
}

at::Tensor Learner::example_losses(const at::Tensor& x, const at::Tensor& y,
                                   const at::Tensor& active) {
  namespace F = torch::nn::functional;
  torch::NoGradGuard no_grad;
  impl_->net->eval();
  const at::Tensor logits = impl_->masked_logits(x, active);
  return F::cross_entropy(logits, y.to(impl_->device),
                          F::CrossEntropyFuncOptions().reduction(torch::kNone))
      .cpu();
}

Expected<at::Tensor> Learner::label_by_teacher(const at::Tensor& x, const at::Tensor& y) {
  const at::Tensor unknown = y.lt(0);
  if (!unknown.any().item<bool>()) return y;
  Impl& m = *impl_;
  if (!m.teacher || !m.teacher_knows_classes) {
    return Status(ErrorCode::invalid_argument,
                  "neocortex: unlabelled recollections need a classifier kept at a consolidation");
  }
  const at::Tensor answers = m.teacher_logits(x).argmax(1).cpu();
  return at::where(unknown, answers, y);
}

void Learner::consolidate() { impl_->take_teacher(); }

bool Learner::has_teacher() const { return impl_->teacher != nullptr; }

void Learner::set_classifier_memory(std::unique_ptr<ClassifierMemory> memory) {
  impl_->memory = std::move(memory);
}

int64_t Learner::memory_extra_bytes() const {
  return impl_->memory ? impl_->memory->extra_bytes(weight_bytes()) : 0;
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

Expected<DensePredictor> Learner::dense_predictor() const {
  if (impl_->config.classifier.net != "mlp") {
    return Status(ErrorCode::invalid_argument, "a dense inference copy needs net \"mlp\", not \"" +
                                                   impl_->config.classifier.net + "\"");
  }
  if (impl_->device != c10::Device(c10::kCPU)) {
    return Status(ErrorCode::invalid_argument, "a dense inference copy needs weights on the CPU");
  }
  std::vector<DenseLayer> layers;
  for (const auto& child : impl_->net->children()) {
    const auto* linear = child->as<torch::nn::Linear>();
    if (linear == nullptr) continue;  // the ReLUs between the layers
    const at::Tensor w = linear->weight.detach().to(at::kFloat).contiguous();
    const at::Tensor b = linear->bias.detach().to(at::kFloat).contiguous();
    DenseLayer l;
    l.out = static_cast<int>(w.size(0));
    l.in = static_cast<int>(w.size(1));
    l.weight.assign(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
    l.bias.assign(b.data_ptr<float>(), b.data_ptr<float>() + b.numel());
    layers.push_back(std::move(l));
  }
  return DensePredictor::create(layers, impl_->memory && impl_->memory->all_outputs());
}

Status Learner::set_gradient_sync(std::shared_ptr<GradientSync> sync) {
  if (sync) {
    if (Status s = sync->broadcast_parameters(impl_->net->parameters()); !s.ok()) return s;
  }
  impl_->sync = std::move(sync);
  return Status();
}

void Learner::set_learning_rate(double lr) {
  for (auto& group : impl_->optimizer->param_groups()) {
    group.options().set_lr(lr);
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
  if (impl_->adam) save_adam(archive, "optimizer", *impl_->adam);  // plain SGD has no state
  archive.put("trained", impl_->trained.to(at::kByte));
  if (impl_->teacher) {
    save_module(archive, "teacher", *impl_->teacher);
    archive.put("teacher_classes", impl_->teacher_classes.cpu().to(at::kByte));
  }
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
  if (f.adam) {
    if (Status s = load_adam(*archive, "optimizer", *f.adam); !s.ok()) return s;
  }
  // Optional parts (absent in states written before consolidation teachers existed).
  const int64_t k = f.config.classifier.classes;
  auto class_mask = [&](const char* name) -> Expected<at::Tensor> {
    auto t = archive->get(name, at::kByte, {k});
    if (!t.ok()) return t.status();
    if (t->gt(1).any().item<bool>()) {
      return Status(ErrorCode::malformed, std::string("neocortex state: ") + name + " is not 0/1");
    }
    return t->to(at::kBool);
  };
  if (archive->contains("trained")) {
    auto t = class_mask("trained");
    if (!t.ok()) return t.status();
    f.trained = *t;
  }
  if (archive->contains("teacher_classes")) {
    auto classes = class_mask("teacher_classes");
    if (!classes.ok()) return classes.status();
    auto teacher = std::dynamic_pointer_cast<torch::nn::SequentialImpl>(f.net->clone());
    if (Status s = load_module(*archive, "teacher", *teacher); !s.ok()) return s;
    for (auto& p : teacher->parameters()) p.set_requires_grad(false);
    teacher->eval();
    f.set_teacher(teacher, *classes);
  }
  f.skipped_steps = impl_->skipped_steps;
  f.memory = std::move(impl_->memory);
  f.sync = impl_->sync;
  impl_ = std::move(fresh.value()->impl_);
  return Status();
}

}  // namespace engram
