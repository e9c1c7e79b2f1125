// "lifelong_vae" (papers/002): no stored data and no buffer. The association is a lifelong VAE
// (modules/association/lifelong_vae.h) whose student learns each task's real batches mixed with
// its teacher's samples; at each consolidation after new data the student becomes the teacher
// and J grows by one. Recollections are teacher samples (z_d uniform, z_c ~ N(0, I)); the VAE is
// unsupervised, so they arrive unlabelled and the neocortex's classifier kept at the last
// consolidation labels them (Learner::label_by_teacher). Its bytes are the teacher VAE's weights
// (encoder and decoder: the encoder is needed for the consistency term), all in the total view.
#include "modules/memory/lifelong_vae_kind.h"

#include <ATen/ATen.h>

#include "modules/association/lifelong_vae.h"

namespace engram {
namespace {

class LifelongVaeAssociation final : public Association {
 public:
  explicit LifelongVaeAssociation(std::unique_ptr<LifelongVae> vae) : vae_(std::move(vae)) {}

  std::string kind() const override { return "lifelong_vae"; }
  // One categorical variable of J values: the discrete part of the latent.
  CodeShape code_shape() const override { return {1, vae_->j()}; }

  // A step of the student on x, its batch size kept: the teacher's share of it is teacher
  // samples, the rest the first rows of x. No codes: nothing is stored.
  at::Tensor learn(const at::Tensor& x, const at::Tensor& stored_codes, const at::Tensor& recalled,
                   AssociationStats* stats) override {
    (void)stored_codes;
    (void)recalled;
    const int64_t synthetic = vae_->synthetic_share(x.size(0));
    LifelongVaeStats s = vae_->learn(x.narrow(0, 0, x.size(0) - synthetic), synthetic);
    learned_ = learned_ || !s.skipped;
    if (stats != nullptr) {
      // The negative ELBO of the real rows (as the dvae reports it), not of the teacher's samples.
      stats->reconstruction = s.real_reconstruction;
      stats->kl = s.real_kl;
      stats->elbo = s.real > 0;
      stats->distillation = s.consistency;
      stats->skipped = s.skipped;
    }
    return {};
  }

  Expected<std::pair<at::Tensor, at::Tensor>> generate(
      int64_t n, const std::vector<double>& class_weights) override {
    if (!class_weights.empty()) {
      return Status(ErrorCode::invalid_argument,
                    "lifelong_vae: an unsupervised generator cannot draw by class (use the "
                    "\"uniform\" sampler)");
    }
    const LifelongVaeConfig& c = vae_->config();
    if (!vae_->has_teacher()) {  // nothing learned before the first consolidation
      return std::make_pair(at::empty({0, c.rows * c.cols}), at::empty({0}, at::kLong));
    }
    auto x = vae_->sample_teacher(n);
    if (!x.ok()) return x.status();
    return std::make_pair(*x, at::full({n}, -1, at::kLong));
  }

  // The student's argmax z_d [B, 1].
  at::Tensor encode(const at::Tensor& x) override { return vae_->assign(x).unsqueeze(1); }
  // Student samples with z_d fixed to each code (z_c from the prior: a code keeps only z_d).
  at::Tensor recall(const at::Tensor& codes) override { return decode_live(codes); }
  at::Tensor decode_live(const at::Tensor& codes) override {
    return vae_->sample_student(codes.reshape({-1}).to(at::kLong).remainder(vae_->j()));
  }

  // A transition when the student learned since the last one (a consolidation phase right
  // after a task's end does not count twice).
  void consolidate() override {
    if (!learned_) return;
    vae_->transition(true);
    learned_ = false;
  }

  int64_t decoder_weight_bytes() const override { return vae_->weight_bytes(); }
  int64_t weight_bytes() const override {
    return vae_->weight_bytes() * (vae_->has_teacher() ? 2 : 1);
  }

  std::string save_state() const override {
    return std::string(1, learned_ ? '\1' : '\0') + vae_->save_state();
  }
  Status load_state(const std::string& bytes) override {
    if (bytes.empty() || (bytes[0] != '\0' && bytes[0] != '\1')) {
      return Status(ErrorCode::malformed, "lifelong_vae state: bad header byte");
    }
    if (Status s = vae_->load_state(bytes.substr(1)); !s.ok()) return s;
    learned_ = bytes[0] == '\1';
    return Status();
  }

 private:
  std::unique_ptr<LifelongVae> vae_;
  bool learned_ = false;  // the student learned since the last transition
};

class LifelongVaeKind final : public MemoryKind {
 public:
  std::string name() const override { return "lifelong_vae"; }
  std::string summary() const override {
    return "lifelong VAE (papers/002): a student-teacher generator, no stored data";
  }
  const std::vector<Setting>& settings() const override {
    static const std::vector<Setting> declared = {
        {"j", SettingType::integer, 1, "categorical values of z_d at the start (+1 per task)", 1,
         4096},
        {"f", SettingType::integer, 16, "Gaussian dimensions of z_c", 0, 4096},
        {"hidden", SettingType::integer_list, nlohmann::json::array({512, 512}),
         "encoder widths (BatchNorm + ELU; mirrored in the decoder)", 1, 16384},
        {"lr", SettingType::number, 1e-3, "Adam learning rate of the student", 1e-12, 1e3},
        {"tau", SettingType::number, 1.0, "Gumbel-softmax temperature", 1e-6, 1e6},
        {"consistency", SettingType::number, 1.0,
         "weight of the teacher-student KL over z_d on teacher samples (0 = without)", 0, 1e6},
        {"mutual_info", SettingType::number, 1.0, "lambda: weight of I(z_d; x)", -1e6, 1e6},
        {"grow", SettingType::boolean, true, "J grows by one at each task", 0, 0},
    };
    return declared;
  }
  Expected<MemoryParts> build(const MemoryBuildContext& context) const override {
    const nlohmann::json& o = context.options;
    LifelongVaeConfig vc;
    vc.j = o.at("j").get<int>();
    vc.f = o.at("f").get<int>();
    vc.hidden = o.at("hidden").get<std::vector<int>>();
    vc.lr = o.at("lr").get<double>();
    vc.tau = o.at("tau").get<double>();
    vc.consistency = o.at("consistency").get<double>();
    vc.mutual_info = o.at("mutual_info").get<double>();
    vc.grow = o.at("grow").get<bool>();
    vc.rows = context.rows;
    vc.cols = context.cols;
    vc.seed = context.seed * 1000003 + 2;
    vc.device = context.device;
    auto vae = LifelongVae::create(vc);
    if (!vae.ok()) return vae.status();
    MemoryParts parts;
    parts.association = std::make_unique<LifelongVaeAssociation>(std::move(*vae));
    return parts;
  }
};

}  // namespace

const MemoryKind& lifelong_vae_memory_kind() {
  static const LifelongVaeKind kind;
  return kind;
}

}  // namespace engram
