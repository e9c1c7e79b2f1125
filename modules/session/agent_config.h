// Configuration of an online agent (OnlineAgent, the C API's engram_t): what it observes, the
// session it learns with, and how it batches observations. Read from user-written JSON, with
// the same keys as the Lua `engram.runtime{}` table, through the declarations of
// session_settings.h.
#pragma once

#include <cstddef>
#include <string>

#include "modules/session/replay_options.h"
#include "modules/session/session.h"
#include "runtime/status.h"

namespace engram {

// The replay of an agent's steps unless configured: 32 recollections, uniform, stored labels.
inline ReplayOptions default_agent_replay() {
  ReplayOptions r;
  r.per_batch = 32;
  return r;
}

struct AgentLearning {
  int batch = 32;  // observations per training step
  // Recollections mixed into each step (per_batch 0 = none) and how they are recalled.
  ReplayOptions replay = default_agent_replay();
  size_t queue = 1024;           // observations engram_observe can hold before it says "full"
  int predict_refresh_ms = 100;  // how often predictions pick up the learner's latest weights
};

struct AgentConfig {
  std::string name = "host";  // names the input stream in snapshots and reports
  int rows = 28, cols = 28;   // one-channel images, row-major
  int classes = 10;
  SessionConfig session;
  AgentLearning learning;
};

// Parses an agent configuration (JSON object). Every key is optional except that unknown keys
// are errors (typos must not pass silently):
//   { "name": "host", "input": {"rows": 28, "cols": 28}, "classes": 10, "tasks": 5,
//     "seed": 1, "threads": 1, "device": "cpu",
//     "neocortex": {"net", "hidden", "lr"},
//     "memory": {"kind", "budget_bytes", "selector", <the options of the kind: "c", "l", ...>},
//     "learning": {"batch", "replay" (a number or a replay table), "queue",
//                  "predict_refresh_ms"} }
// Errors ("agent config: " and the key as written, e.g. "memory.c"): malformed (not JSON, wrong
// type), invalid_argument (unknown key, out of range, an option of another memory kind).
Expected<AgentConfig> agent_config_from_json(const std::string& text);

// agent_config_from_json() for a configuration stored in a snapshot by engram_snapshot: memory
// options of other kinds are dropped, not refused (versions before the memory-kind registry
// wrote the dvae options whatever the kind).
Expected<AgentConfig> agent_config_from_stored_json(const std::string& text);

// The configuration as JSON that agent_config_from_json() reads back to an equal value.
std::string agent_config_to_json(const AgentConfig& config);

}  // namespace engram
