// The modules fuzz_load_state feeds (and load_state_seeds writes seeds for), in configurations
// small enough that one load costs well under a millisecond: the archive layout (which keys,
// which tensors, the optimiser's moments, the generator) is the same at any size.
#pragma once

#include <ATen/ATen.h>

#include <memory>
#include <string>

#include "modules/association/discrete_vae.h"
#include "modules/association/raw_codec.h"
#include "modules/neocortex/learner.h"

namespace engram::fuzz {

// Byte 0 of an input (modulo kModuleKinds) picks the module.
enum ModuleKind : int { kLearnerMlp, kDvaeMlp, kDvaeConv, kRawCodec, kModuleKinds };
inline constexpr const char* kModuleNames[] = {"learner_mlp", "dvae_mlp", "dvae_conv", "raw"};

inline LearnerConfig fuzz_learner_config() {
  LearnerConfig c;
  c.classifier.net = "mlp";
  c.classifier.hidden = {8};
  c.classifier.rows = 4;
  c.classifier.cols = 4;
  c.classifier.classes = 3;
  return c;
}

inline DiscreteVaeConfig fuzz_dvae_config(bool conv) {
  DiscreteVaeConfig c;
  c.c = conv ? 4 : 3;
  c.l = 2;
  c.arch = conv ? "conv" : "mlp";
  c.hidden = {conv ? 2 : 6};  // conv: filters per layer
  c.rows = conv ? 28 : 4;     // conv needs 28x28 images
  c.cols = conv ? 28 : 4;
  return c;
}

inline int pixels_of(ModuleKind kind) { return kind == kDvaeConv ? 28 * 28 : 16; }

// A fixed batch of two observations in [0, 1].
inline at::Tensor fuzz_batch(ModuleKind kind) {
  return at::linspace(0.0, 1.0, 2 * pixels_of(kind)).view({2, pixels_of(kind)});
}

}  // namespace engram::fuzz
