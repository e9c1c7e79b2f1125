// "lwf" (Learning without Forgetting, Li & Hoiem 2016): no stored data and no generator. At each
// consolidation the neocortex keeps a frozen copy of the classifier (the teacher); every later
// step on real data adds weight * T^2 * KL(softmax(teacher/T) || softmax(student/T)) over the
// classes the teacher had learned, so the old outputs keep their answers on the new data.
// Options for the Distill baseline of papers/003 (the authors' distill.py): outputs = all (one
// plain head, every unit competing from the start, so the distillation covers all of them) and
// step = separate (the distillation is a step of its own after the real step, not a term of it).
#include "modules/memory/lwf_kind.h"

#include <ATen/ATen.h>

#include "modules/neocortex/soft_targets.h"

namespace engram {
namespace {

class LwfDistillation final : public ClassifierMemory {
 public:
  LwfDistillation(double temperature, double weight, bool all_outputs, bool separate)
      : t_(temperature), weight_(weight), all_outputs_(all_outputs), separate_(separate) {}
  std::string kind() const override { return "lwf"; }
  at::Tensor real_batch_loss(const at::Tensor& student_logits, const at::Tensor& teacher_logits,
                             const at::Tensor& old_classes) const override {
    if (separate_ || !old_classes.any().item<bool>()) return {};
    return weight_ * soft_target_loss(student_logits, teacher_logits, old_classes, t_);
  }
  // step = separate: one more optimiser step on the same term alone, after the real step.
  MemoryStepStats after_real_step(ClassifierAccess& classifier, const at::Tensor& x,
                                  const at::Tensor&, const at::Tensor&) override {
    MemoryStepStats stats;
    if (!separate_ || !classifier.has_frozen()) return stats;
    const at::Tensor old_classes = classifier.frozen_classes();
    if (!old_classes.any().item<bool>()) return stats;
    at::Tensor teacher;
    {
      at::NoGradGuard no_grad;
      teacher = classifier.frozen_logits(x);
    }
    const at::Tensor loss = weight_ * soft_target_loss(classifier.logits(x), teacher,
                                                       old_classes.to(teacher.device()), t_);
    stats.stepped = true;
    stats.loss = loss.item<double>();
    stats.skipped = !classifier.step(loss);
    return stats;
  }
  int64_t extra_bytes(int64_t classifier_weight_bytes) const override {
    return classifier_weight_bytes;  // the teacher: one copy of the classifier
  }
  bool all_outputs() const override { return all_outputs_; }

 private:
  double t_, weight_;
  bool all_outputs_, separate_;
};

class LwfKind final : public MemoryKind {
 public:
  std::string name() const override { return "lwf"; }
  std::string summary() const override {
    return "Learning without Forgetting: the previous model's soft outputs on the new data";
  }
  const std::vector<Setting>& settings() const override {
    static const std::vector<Setting> declared = {
        {"temperature", SettingType::number, 2.0, "softmax temperature T of the distillation", 0.01,
         100},
        {"weight", SettingType::number, 1.0, "weight of the distillation term (lambda_o)", 0, 1e6},
        {"outputs",
         SettingType::choice,
         "seen",
         "which output units compete: seen (the classes seen so far; the distillation covers the "
         "teacher's classes) or all (all from the start and all distilled, as papers/003's "
         "Distill baseline)",
         0,
         0,
         {"seen", "all"}},
        {"step",
         SettingType::choice,
         "joint",
         "joint (the distillation is added to the real step's loss, Li & Hoiem) or separate (one "
         "more step on it alone after each real step, as papers/003's Distill baseline)",
         0,
         0,
         {"joint", "separate"}},
    };
    return declared;
  }
  Expected<MemoryParts> build(const MemoryBuildContext& context) const override {
    MemoryParts parts;
    const nlohmann::json& o = context.options;
    parts.classifier = std::make_unique<LwfDistillation>(
        o.at("temperature").get<double>(), o.at("weight").get<double>(),
        o.at("outputs").get<std::string>() == "all", o.at("step").get<std::string>() == "separate");
    return parts;
  }
};

}  // namespace

const MemoryKind& lwf_memory_kind() {
  static const LwfKind kind;
  return kind;
}

}  // namespace engram
