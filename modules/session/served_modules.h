// The association and the neocortex served by a process of their own (`engram serve
// association|neocortex`, served_module.h): what a driver sends them (kAdopt) and how the
// served process builds the same module the driver would have built.
//
// kAdopt carries the session's configuration (session_config_json.h), the dataset's shape and
// the module's state bytes (what its kSaveState returns). The served process builds the
// modules through build_session_modules (session_modules.h), the code Session::create_from
// uses, and loads the state, so the module learns exactly as a thread of the driver would for
// the same seed. The association reaches the hippocampus and the neocortex, the neocortex the
// driver (its progress): those links travel back over the driver's relay (module_relay.h).
#pragma once

#include <memory>
#include <string>

#include "modules/actors/served_module.h"
#include "modules/session/session.h"
#include "modules/session/session_modules.h"

namespace engram {

// The kAdopt for a served association or neocortex: strings config, ints rows, cols, classes,
// payload u8 [state].
Message module_adopt_message(const SessionConfig& config, const ModuleShape& shape,
                             const std::string& state);

// The association actor (or the neocortex actor) a kAdopt describes. Errors (malformed or
// invalid_argument, prefixed "adopt: "): a missing field, a configuration that does not parse,
// a shape out of range, state bytes that do not load.
Expected<std::unique_ptr<ActorBehavior>> adopt_association(const Message& msg);
Expected<std::unique_ptr<ActorBehavior>> adopt_neocortex(const Message& msg);

// What `engram serve MODULE` runs for hippocampus, association or neocortex: the factory and
// the module's peers. invalid_argument for another name.
Expected<ServedModuleSpec> served_module_spec(const std::string& module);

}  // namespace engram
