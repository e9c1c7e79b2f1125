// libFuzzer target for every module's load_state(): the LibTorch-archive sections of a
// snapshot (neocortex Learner, DiscreteVae mlp and conv, RawCodec; the code buffer section is
// fuzz_snapshot's). Byte 0 picks the module (load_state_modules.h), the rest is the state.
// Contract: any bytes give OK or an error Status, never a crash, an uncaught exception, a hang
// or a sanitizer report; a state that loads is usable: it saves and loads back, and the module
// learns, predicts, encodes and recalls on a small batch without throwing. Run with `make fuzz`.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <ATen/Parallel.h>

#include "tests/fuzz/load_state_modules.h"

namespace {

using namespace engram;
using engram::fuzz::ModuleKind;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

struct Modules {
  std::unique_ptr<Learner> learner;
  std::unique_ptr<DiscreteVae> dvae_mlp, dvae_conv;
  std::unique_ptr<RawCodec> raw;
};

Modules& modules() {
  static Modules* m = [] {
    at::set_num_threads(1);
    auto* out = new Modules;
    out->learner = std::move(Learner::create(fuzz::fuzz_learner_config()).value());
    out->dvae_mlp = std::move(DiscreteVae::create(fuzz::fuzz_dvae_config(false)).value());
    out->dvae_conv = std::move(DiscreteVae::create(fuzz::fuzz_dvae_config(true)).value());
    out->raw = std::make_unique<RawCodec>(fuzz::pixels_of(fuzz::kRawCodec));
    return out;
  }();
  return *m;
}

void use_learner(Learner& learner) {
  const at::Tensor x = fuzz::fuzz_batch(fuzz::kLearnerMlp);
  const at::Tensor y = at::arange(2, at::kLong);
  const at::Tensor active = at::ones({3}, at::kBool);
  (void)learner.step(x, y, x, y, active, 0.5);
  const at::Tensor p = learner.predict(x, active);
  check(p.dim() == 2 && p.size(0) == 2 && p.size(1) == 3);
  (void)learner.accuracy(x, y, active);
}

void use_association(Association& a, ModuleKind kind) {
  const at::Tensor x = fuzz::fuzz_batch(kind);
  const CodeShape shape = a.code_shape();
  const at::Tensor stored = at::zeros({2, shape.c}, at::kLong);
  AssociationStats stats;
  const at::Tensor codes = a.learn(x, stored, a.recall(stored), &stats);
  check(codes.dim() == 2 && codes.size(0) == 2 && codes.size(1) == shape.c);
  const at::Tensor again = a.encode(x);
  check(again.size(0) == 2 && again.size(1) == shape.c);
  const at::Tensor recalled = a.recall(again);
  check(recalled.dim() == 2 && recalled.size(1) == fuzz::pixels_of(kind));
  (void)a.decode_live(again);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  Modules& m = modules();
  const auto kind = static_cast<ModuleKind>(data[0] % fuzz::kModuleKinds);
  const std::string state(reinterpret_cast<const char*>(data + 1), size - 1);
  if (kind == fuzz::kLearnerMlp) {
    const Status s = m.learner->load_state(state);
    if (!s.ok()) {
      check(!s.message().empty());
      return 0;
    }
    check(m.learner->load_state(m.learner->save_state()).ok());
    use_learner(*m.learner);
    return 0;
  }
  Association* a = kind == fuzz::kDvaeMlp    ? static_cast<Association*>(m.dvae_mlp.get())
                   : kind == fuzz::kDvaeConv ? static_cast<Association*>(m.dvae_conv.get())
                                             : static_cast<Association*>(m.raw.get());
  const Status s = a->load_state(state);
  if (!s.ok()) {
    check(!s.message().empty());
    return 0;
  }
  check(a->load_state(a->save_state()).ok());
  use_association(*a, kind);
  return 0;
}
