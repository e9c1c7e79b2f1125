// Writes real save_state() output of every module fuzz_load_state feeds (byte 0: the module,
// see load_state_modules.h), fresh and after a few learning steps (so the optimiser's moments
// and, for the VAEs, the frozen decoder are in the archive): its seed corpus.
// Usage: load_state_seeds DIR
#include <cstdio>
#include <fstream>
#include <string>

#include "tests/fuzz/load_state_modules.h"

namespace {

using namespace engram;

int write_seed(const std::string& dir, fuzz::ModuleKind kind, const char* stage,
               const std::string& state) {
  const std::string path = dir + "/" + fuzz::kModuleNames[kind] + "_" + stage;
  std::ofstream out(path, std::ios::binary);
  out.put(static_cast<char>(kind));
  out.write(state.data(), static_cast<std::streamsize>(state.size()));
  return out ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  int failures = 0;
  auto learner = Learner::create(fuzz::fuzz_learner_config());
  if (!learner.ok()) return 1;
  failures += write_seed(dir, fuzz::kLearnerMlp, "fresh", (*learner)->save_state());
  const at::Tensor x = fuzz::fuzz_batch(fuzz::kLearnerMlp);
  const at::Tensor y = at::arange(2, at::kLong);
  for (int i = 0; i < 3; ++i) (void)(*learner)->step(x, y, {}, {}, at::ones({3}, at::kBool), 0.0);
  failures += write_seed(dir, fuzz::kLearnerMlp, "trained", (*learner)->save_state());

  for (fuzz::ModuleKind kind : {fuzz::kDvaeMlp, fuzz::kDvaeConv}) {
    auto vae = DiscreteVae::create(fuzz::fuzz_dvae_config(kind == fuzz::kDvaeConv));
    if (!vae.ok()) return 1;
    failures += write_seed(dir, kind, "fresh", (*vae)->save_state());
    const at::Tensor batch = fuzz::fuzz_batch(kind);
    for (int i = 0; i < 2; ++i) (void)(*vae)->learn(batch, {}, {}, nullptr);
    (*vae)->consolidate();
    const at::Tensor codes = (*vae)->encode(batch);
    (void)(*vae)->learn(batch, codes, (*vae)->recall(codes), nullptr);
    failures += write_seed(dir, kind, "consolidated", (*vae)->save_state());
  }
  failures += write_seed(dir, fuzz::kRawCodec, "empty", RawCodec(16).save_state());
  return failures == 0 ? 0 : 1;
}
