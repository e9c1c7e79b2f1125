#include "modules/session/session_modules.h"

#include "modules/memory/memory_registry.h"
#include "runtime/settings.h"

namespace engram {

Expected<SessionModules> build_session_modules(const SessionConfig& config,
                                               const ModuleShape& shape,
                                               const std::string* neocortex_state,
                                               const std::string* association_state) {
  auto kind = find_memory_kind(config.memory.kind);
  if (!kind.ok()) return kind.status();
  auto options = apply_settings((*kind)->settings(), config.memory.options, "memory");
  if (!options.ok()) return options.status();
  SessionModules out;
  out.memory_options = *options;

  LearnerConfig lc = config.neocortex;
  lc.classifier.rows = shape.rows;
  lc.classifier.cols = shape.cols;
  lc.classifier.classes = shape.classes;
  lc.seed = config.seed;
  lc.device = config.device;
  out.learner_config = lc;
  auto learner = Learner::create(lc);
  if (!learner.ok()) return learner.status();
  if (neocortex_state) {
    if (Status s = (*learner)->load_state(*neocortex_state); !s.ok()) return s;
  }

  MemoryBuildContext context;
  context.rows = shape.rows;
  context.cols = shape.cols;
  context.classes = shape.classes;
  context.num_tasks = config.num_tasks;
  context.seed = config.seed;
  context.device = config.device;
  context.budget_bytes = config.memory.budget_bytes;
  context.selector = config.memory.selector;
  context.options = *options;
  auto parts = (*kind)->build(context);
  if (!parts.ok()) return parts.status();
  if (parts->classifier) (*learner)->set_classifier_memory(std::move(parts->classifier));
  if (parts->buffer && !parts->association) {
    return Status(ErrorCode::internal, "memory kind \"" + config.memory.kind +
                                           "\" asks for a buffer without an association");
  }
  if (association_state && parts->association) {
    if (Status s = parts->association->load_state(*association_state); !s.ok()) return s;
  }
  out.learner = std::move(*learner);
  out.association = std::move(parts->association);
  out.buffer = parts->buffer;
  return out;
}

}  // namespace engram
