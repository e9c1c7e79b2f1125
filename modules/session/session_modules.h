// The learning modules of a session, built from its configuration and the dataset's shape: the
// neocortex's learner (with the memory kind's classifier memory) and the memory kind's parts.
// Session::create_from builds them this way, and so does a process serving one module
// (served_modules.h), so both hold the same module for the same configuration and seed.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "modules/association/association.h"
#include "modules/hippocampus/code_buffer.h"
#include "modules/neocortex/learner.h"
#include "modules/session/session.h"
#include "runtime/status.h"

namespace engram {

// The dataset's shape as the modules see it.
struct ModuleShape {
  int rows = 28, cols = 28;
  int classes = 10;
};

struct SessionModules {
  nlohmann::json memory_options;  // the memory kind's settings, every default applied
  LearnerConfig learner_config;   // config.neocortex completed with the shape, seed, device
  std::unique_ptr<Learner> learner;
  std::unique_ptr<Association> association;  // null for kinds without one
  std::optional<CodeBufferConfig> buffer;    // set for kinds that store codes
};

// Builds the modules in a fixed order (each construction seeds torch's global generator from
// config.seed, so the order is part of the result): the learner, then (when given) its state
// `neocortex_state`, then the memory kind's parts, then (when given) the association's state.
// Errors: an unknown memory kind, bad kind options (named under "memory"), learner or kind
// construction errors, states that do not load, a kind asking for a buffer without an
// association (internal).
Expected<SessionModules> build_session_modules(const SessionConfig& config,
                                               const ModuleShape& shape,
                                               const std::string* neocortex_state,
                                               const std::string* association_state);

}  // namespace engram
