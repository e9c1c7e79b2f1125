// The hippocampus served by a process of its own (`engram serve hippocampus`): a ServedModule
// (served_module.h) whose actor is the hippocampus actor, built from the code buffer and the
// sampler's random stream a driver sends (kAdopt). It has no peers; every other message is the
// hippocampus actor's (hippocampus_actor.h, messages.h).
#pragma once

#include <memory>
#include <random>

#include "modules/hippocampus/code_buffer.h"

#include "modules/actors/served_module.h"

namespace engram {

// The hippocampus actor from a kAdopt: u8 payloads [code buffer bytes][sampler RNG text], as
// its kState. Errors (malformed): other payloads, a buffer that does not deserialize, a
// sampler state that is not mt19937_64's text.
Expected<std::unique_ptr<ActorBehavior>> adopt_hippocampus(const Message& msg);

// The kAdopt a driver sends to a served hippocampus: the buffer and the sampler's stream.
Message hippocampus_adopt_message(const CodeBuffer& buffer, const std::mt19937_64& sampler);

// What `engram serve hippocampus` runs: the factory above, no peers.
ServedModuleSpec served_hippocampus_spec();

}  // namespace engram
