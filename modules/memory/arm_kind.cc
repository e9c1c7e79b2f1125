// "arm" (Automatic Recall Machines, papers/003): no stored data and no generator. The neocortex
// keeps a frozen copy of the classifier (f_old, refreshed at each consolidation and, with
// lag > 0, every lag steps); after each real step images drawn from the batch are optimised so
// that the classifier and f_old disagree on them, and one more step distils f_old's outputs on
// them and on the batch (modules/neocortex/automatic_recall.h). Defaults: the paper's Table 4,
// MNIST row. Its bytes are the frozen copy's weights.
#include "modules/memory/arm_kind.h"

#include "modules/neocortex/automatic_recall.h"

namespace engram {
namespace {

class ArmKind final : public MemoryKind {
 public:
  std::string name() const override { return "arm"; }
  std::string summary() const override {
    return "Automatic Recall Machines (papers/003): recall optimised from the classifier and its "
           "frozen copy";
  }
  const std::vector<Setting>& settings() const override {
    static const std::vector<Setting> declared = {
        {"images", SettingType::integer, 10, "M: recalled images per real batch", 1, 1 << 16},
        {"steps", SettingType::integer, 10, "S: gradient ascent steps on the recalled images", 0,
         1000},
        {"step_size", SettingType::number, 25.0, "eta_1: step size of the ascent on the images", 0,
         1e6},
        {"divergence_weight", SettingType::number, 1.0,
         "weight of the JS divergence between the classifier and f_old (unit lag: 8)", 0, 1e6},
        {"old_ce", SettingType::number, 1.0,
         "lambda_1: CE of f_old with the batch's classes (pushes recall off them)", 0, 1e6},
        {"new_ce", SettingType::number, 0.1,
         "lambda_2: CE of the classifier with the batch's classes", 0, 1e6},
        {"entropy", SettingType::number, 16.0,
         "lambda_3: entropy of f_old's batch-mean prediction (diversity)", 0, 1e6},
        {"sharpen", SettingType::number, 0.1,
         "lambda_4: CE of f_old with its own argmax (sharpening)", 0, 1e6},
        {"l2", SettingType::number, 1.0, "lambda_5: L2 of the recalled images", 0, 1e6},
        {"tv", SettingType::number, 1.0, "lambda_6: total variation of the recalled images", 0,
         1e6},
        {"recalled_weight", SettingType::number, 1.0,
         "lambda_0 on the recalled images (distillation toward f_old)", 0, 1e6},
        {"real_weight", SettingType::number, 1.0,
         "lambda_0 on the real batch (its distillation toward f_old)", 0, 1e6},
        {"outputs",
         SettingType::choice,
         "seen",
         "which output units compete: seen (the classes seen so far; f_old over the classes it "
         "had learned) or all (all from the start, one plain head as in the paper's code; also "
         "in the real step and the accuracy)",
         0,
         0,
         {"seen", "all"}},
        {"divergence",
         SettingType::choice,
         "js",
         "D of the recall: js (Jensen-Shannon, as the paper writes) or mixture_kl "
         "(0.5 KL(m||p) + 0.5 KL(m||q), as the authors' code computes; needs outputs = all)",
         0,
         0,
         {"js", "mixture_kl"}},
        {"lag", SettingType::integer, 0,
         "T: f_old is refreshed at each consolidation (0) and also every lag real steps (1 = unit "
         "lag)",
         0, 1e9},
    };
    return declared;
  }
  Expected<MemoryParts> build(const MemoryBuildContext& context) const override {
    const nlohmann::json& o = context.options;
    if (context.rows < 2 || context.cols < 2) {
      return Status(ErrorCode::invalid_argument,
                    "memory kind \"arm\": images must be at least 2x2 (total variation)");
    }
    const bool all_outputs = o.at("outputs").get<std::string>() == "all";
    const bool mixture_kl = o.at("divergence").get<std::string>() == "mixture_kl";
    if (mixture_kl && !all_outputs) {
      return Status(ErrorCode::invalid_argument,
                    "memory kind \"arm\": divergence = \"mixture_kl\" needs outputs = \"all\" "
                    "(KL(m || p) is infinite where a masked unit has probability 0)");
    }
    ArmConfig c;
    c.all_outputs = all_outputs;
    c.recall.form = mixture_kl ? DivergenceForm::mixture_kl : DivergenceForm::js;
    c.recall.images = o.at("images").get<int>();
    c.recall.steps = o.at("steps").get<int>();
    c.recall.step_size = o.at("step_size").get<double>();
    c.recall.divergence = o.at("divergence_weight").get<double>();
    c.recall.old_ce = o.at("old_ce").get<double>();
    c.recall.new_ce = o.at("new_ce").get<double>();
    c.recall.entropy = o.at("entropy").get<double>();
    c.recall.sharpen = o.at("sharpen").get<double>();
    c.recall.l2 = o.at("l2").get<double>();
    c.recall.tv = o.at("tv").get<double>();
    c.recall.rows = context.rows;
    c.recall.cols = context.cols;
    c.recalled_weight = o.at("recalled_weight").get<double>();
    c.real_weight = o.at("real_weight").get<double>();
    c.lag = o.at("lag").get<int64_t>();
    c.seed = context.seed * 7919 + 3;
    MemoryParts parts;
    parts.classifier = std::make_unique<AutomaticRecall>(c);
    return parts;
  }
};

}  // namespace

const MemoryKind& arm_memory_kind() {
  static const ArmKind kind;
  return kind;
}

}  // namespace engram
