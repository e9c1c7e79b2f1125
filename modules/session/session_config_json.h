// SessionConfig <-> JSON: the "config" section of snapshots, and what `engram inspect` prints.
#pragma once

#include <string>

#include "modules/session/session.h"
#include "runtime/status.h"

namespace engram {

// Every field of the configuration as a JSON object (compact text).
std::string session_config_to_json(const SessionConfig& config);

// Parses session_config_to_json() output. Every field must be present with the right type, and
// an integer must fit its field (checked on the JSON number, before narrowing); errors
// (malformed) name the field. What a value means is range-checked later by Session::create.
Expected<SessionConfig> session_config_from_json(const std::string& text);

}  // namespace engram
