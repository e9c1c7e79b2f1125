// Configuration of an online agent (OnlineAgent, the C API's engram_t): what it observes, the
// session it learns with, and how it batches observations. Read from user-written JSON, with
// the same keys as the Lua `engram.runtime{}` table.
#pragma once

#include <cstddef>
#include <string>

#include "modules/session/session.h"
#include "runtime/status.h"

namespace engram {

struct AgentLearning {
  int batch = 32;                // observations per training step
  int replay = 32;               // recollections mixed into each step (0 = none)
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
//     "memory": {"kind", "budget_bytes", "selector", "c", "l", "arch", "hidden", "kl_weight",
//                "distill_weight", "lr", "tau"},
//     "learning": {"batch", "replay", "queue", "predict_refresh_ms"} }
// Errors: malformed (not JSON, wrong type), invalid_argument (unknown key, out of range); the
// message names the key.
Expected<AgentConfig> agent_config_from_json(const std::string& text);

// The configuration as JSON that agent_config_from_json() reads back to an equal value.
std::string agent_config_to_json(const AgentConfig& config);

}  // namespace engram
