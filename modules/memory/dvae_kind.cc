// "dvae" (papers/000): a discrete VAE in the association turns observations into codes of c
// categorical variables of l values; the hippocampus keeps the codes in a byte-budgeted buffer;
// recollections are the codes decoded by the decoder copy frozen at the last consolidation.
#include "modules/memory/dvae_kind.h"

#include "modules/association/discrete_vae.h"

namespace engram {
namespace {

class DvaeKind final : public MemoryKind {
 public:
  std::string name() const override { return "dvae"; }
  std::string summary() const override {
    return "recollections (papers/000): codes of a discrete VAE in a byte-budgeted buffer";
  }
  const std::vector<Setting>& settings() const override {
    static const std::vector<Setting> declared = {
        {"c", SettingType::integer, 100, "categorical latent variables per code", 1, 65536},
        {"l", SettingType::integer, 2, "values per latent variable", 2, 65536},
        {"arch",
         SettingType::choice,
         "mlp",
         "encoder/decoder: dense layers, or 3 conv + 3 transposed conv (28x28 only)",
         0,
         0,
         {"mlp", "conv"}},
        {"hidden", SettingType::integer_list, nlohmann::json::array({256}),
         "mlp: hidden widths (mirrored in the decoder); conv: the filters (0 = c*l/4)", 0, 16384},
        {"kl_weight", SettingType::number, 0.0,
         "weight of KL(q(z|x) || uniform): 1 = the ELBO, 0 = a discrete autoencoder", 0, 1e6},
        {"distill_weight", SettingType::number, 1.0,
         "weight of the live decoder's distillation on stored codes (keeps their meaning)", 0, 1e6},
        {"lr", SettingType::number, 1e-3, "Adam learning rate of the association", 1e-12, 1e3},
        {"steps", SettingType::integer, 1,
         "the association's optimiser steps on each batch it learns (the classifier's are not "
         "affected)",
         1, 1000},
        {"tau", SettingType::number, 1.0, "Gumbel-softmax temperature", 1e-6, 1e6},
        {"weights",
         SettingType::choice,
         "f32",
         "weights at rest: f32, or int8 (one f32 scale per row; each consolidation rounds them)",
         0,
         0,
         {"f32", "int8"}},
    };
    return declared;
  }
  Expected<MemoryParts> build(const MemoryBuildContext& context) const override {
    const nlohmann::json& o = context.options;
    DiscreteVaeConfig vc;
    vc.c = o.at("c").get<int>();
    vc.l = o.at("l").get<int>();
    vc.arch = o.at("arch").get<std::string>();
    vc.hidden = o.at("hidden").get<std::vector<int>>();
    vc.kl_weight = o.at("kl_weight").get<double>();
    vc.distill_weight = o.at("distill_weight").get<double>();
    vc.lr = o.at("lr").get<double>();
    vc.steps = o.at("steps").get<int>();
    vc.tau = o.at("tau").get<double>();
    vc.weights = o.at("weights").get<std::string>();
    vc.rows = context.rows;
    vc.cols = context.cols;
    vc.seed = context.seed * 1000003 + 1;
    vc.device = context.device;
    auto vae = DiscreteVae::create(vc);
    if (!vae.ok()) return vae.status();
    MemoryParts parts;
    parts.association = std::move(*vae);
    parts.buffer = buffer_for(parts.association->code_shape(), context);
    return parts;
  }
};

}  // namespace

const MemoryKind& dvae_memory_kind() {
  static const DvaeKind kind;
  return kind;
}

}  // namespace engram
