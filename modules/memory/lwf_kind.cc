// "lwf" (Learning without Forgetting, Li & Hoiem 2016): no stored data and no generator. At each
// consolidation the neocortex keeps a frozen copy of the classifier (the teacher); every later
// step on real data adds weight * T^2 * KL(softmax(teacher/T) || softmax(student/T)) over the
// classes the teacher had learned, so the old outputs keep their answers on the new data.
#include "modules/memory/lwf_kind.h"

#include <ATen/ATen.h>

#include "modules/neocortex/soft_targets.h"

namespace engram {
namespace {

class LwfDistillation final : public ClassifierMemory {
 public:
  LwfDistillation(double temperature, double weight) : t_(temperature), weight_(weight) {}
  std::string kind() const override { return "lwf"; }
  at::Tensor real_batch_loss(const at::Tensor& student_logits, const at::Tensor& teacher_logits,
                             const at::Tensor& old_classes) const override {
    if (!old_classes.any().item<bool>()) return {};
    return weight_ * soft_target_loss(student_logits, teacher_logits, old_classes, t_);
  }
  int64_t extra_bytes(int64_t classifier_weight_bytes) const override {
    return classifier_weight_bytes;  // the teacher: one copy of the classifier
  }

 private:
  double t_, weight_;
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
    };
    return declared;
  }
  Expected<MemoryParts> build(const MemoryBuildContext& context) const override {
    MemoryParts parts;
    parts.classifier =
        std::make_unique<LwfDistillation>(context.options.at("temperature").get<double>(),
                                          context.options.at("weight").get<double>());
    return parts;
  }
};

}  // namespace

const MemoryKind& lwf_memory_kind() {
  static const LwfKind kind;
  return kind;
}

}  // namespace engram
