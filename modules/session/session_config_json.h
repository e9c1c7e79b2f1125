// SessionConfig <-> JSON: the "config" section of snapshots, and what `engram inspect` prints.
#pragma once

#include <string>

#include "modules/session/session.h"
#include "runtime/status.h"

namespace engram {

// The configuration as JSON (compact text), format 2: the tree of session_settings.h (tasks,
// seed, threads, device, neocortex {net, hidden, lr}, memory {kind, budget_bytes, selector and
// every option of the kind}) plus "format": 2 and "endpoints". What the dataset decides (image
// shape, classes) and the seeds derived from `seed` are not written: Session recomputes them.
std::string session_config_to_json(const SessionConfig& config);

// Reads session_config_to_json() output through the same declarations as the Lua and C API
// readers (types, ranges, defaults for settings added later), and format 1, written by earlier
// versions ({format 1, num_tasks, ..., neocortex {.., rows, cols, classes, seed, device},
// memory {kind, budget_bytes, selector, dvae {c, l, ...}}}): its dvae options are the memory
// options when the kind is dvae and are ignored otherwise. Errors name the field ("config:
// tasks must be in [1, 65536], got 0"): malformed (not JSON, a missing field, a wrong type),
// invalid_argument (out of range, unknown key), unsupported_version (another format).
Expected<SessionConfig> session_config_from_json(const std::string& text);

}  // namespace engram
