// Memory kinds: a recipe for producing recollections, named in configuration (memory.kind) and
// found through the registry (memory_registry.h). A kind decides which parts it places in which
// module actor:
//   - association: a model in the association actor. With a buffer it turns observations into
//     codes and codes back into recollections (dvae, raw); without one it generates
//     recollections itself (the 002 lifelong VAE, the 004 masked conditional GAN);
//   - buffer: a byte-budgeted code buffer in the hippocampus holding the association's codes;
//   - classifier: a part the neocortex adds to its learning steps (LwF's distillation of the
//     previous model on the real data; 003's recall optimised from the classifier).
// Samplers and targets of recall are options of a learning phase, not of the kind.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "modules/association/association.h"
#include "modules/hippocampus/code_buffer.h"
#include "modules/neocortex/classifier_memory.h"
#include "runtime/settings.h"
#include "runtime/status.h"

namespace engram {

// What a kind is built for.
struct MemoryBuildContext {
  int rows = 28, cols = 28;  // one-channel images
  int classes = 10;
  int num_tasks = 1;
  uint64_t seed = 1;  // the session's seed; a kind derives its own streams from it
  std::string device = "cpu";
  size_t budget_bytes = 0;  // bytes the buffer may hold (the incremental view)
  Selector selector = Selector::reservoir;
  nlohmann::json options;  // the kind's settings(), checked, every declared key present
};

// The parts of a built kind; each may be absent (`none` has none of them).
struct MemoryParts {
  std::unique_ptr<Association> association;      // the association actor's model
  std::optional<CodeBufferConfig> buffer;        // a code buffer of the association's codes
  std::unique_ptr<ClassifierMemory> classifier;  // added to the neocortex's steps
};

// The code buffer a kind with stored codes of `shape` asks the hippocampus for: the context's
// budget, selector, classes and tasks, seeded from the context's seed.
CodeBufferConfig buffer_for(const CodeShape& shape, const MemoryBuildContext& context);

class MemoryKind {
 public:
  virtual ~MemoryKind() = default;
  // The name configurations use ("dvae").
  virtual std::string name() const = 0;
  // One line for `engram config --list` and the README.
  virtual std::string summary() const = 0;
  // The kind's own options (read from the memory table beside kind, budget_bytes, selector).
  virtual const std::vector<Setting>& settings() const = 0;
  // Builds the parts (weights from context.seed, deterministically; construct on one thread at
  // a time). Errors: invalid options (naming them), an unavailable device.
  virtual Expected<MemoryParts> build(const MemoryBuildContext& context) const = 0;
};

}  // namespace engram
