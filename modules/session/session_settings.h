// The settings of a learning session and of an online agent, each declared once
// (runtime/settings.h) and read through that declaration by every reader: the Lua
// `engram.runtime{}` table (bindings/lua/lua_runtime.cc), the C API's JSON (agent_config.h) and
// the configuration section of snapshots (session_config_json.h). `engram config --list` and the
// README's option tables print the same declarations.
//
// A configuration tree (JSON; a Lua table is converted first):
//   { tasks, seed, threads, device,
//     neocortex = { net, hidden, lr },
//     memory = { kind, budget_bytes, selector, association_from, <the options of the kind> } }
// The memory table is flat: `kind`, `budget_bytes`, `selector` and `association_from` are common
// to every kind, every other key must be one of the chosen kind's settings
// (MemoryKind::settings()) and goes into MemoryConfig::options with the kind's defaults filled in.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "modules/session/session.h"
#include "runtime/settings.h"
#include "runtime/status.h"

namespace engram {

// The top level of a session configuration: tasks, seed, threads, device and the tables
// neocortex and memory.
const std::vector<Setting>& session_settings();
// The neocortex table: net, hidden, lr.
const std::vector<Setting>& neocortex_settings();
// The keys of the memory table common to every kind: kind (one of the registered kinds),
// budget_bytes, selector, association_from.
const std::vector<Setting>& memory_settings();

// The top-level keys an online agent's configuration adds (name, input, classes, learning).
const std::vector<Setting>& agent_settings();
// The agent's input table: rows, cols.
const std::vector<Setting>& agent_input_settings();
// The agent's learning table: batch, replay (a number = recollections per step, or a replay
// table of replay_settings(), read by replay_options_from_json), queue, predict_refresh_ms.
const std::vector<Setting>& agent_learning_settings();

// Reads a flat memory table (null = every default). `where` names the table in errors
// ("runtime.memory" -> "runtime.memory.c must be in [1, 65536], got 0"). A key that is an option
// of another kind only is refused saying which kind it belongs to. When `tolerate_other_kinds`
// (reading configurations stored by versions that wrote the dvae options for every kind), such
// keys are dropped instead.
Expected<MemoryConfig> memory_config_from_settings(const nlohmann::json& table,
                                                   const std::string& where,
                                                   bool tolerate_other_kinds = false);

// Reads a session configuration tree (an object, or null = every default) through the
// declarations above. `where` names the tree in errors ("runtime" -> "runtime.memory.c", "" ->
// "memory.c"). `extra` are further top-level settings the caller reads itself (an agent's name,
// input, ...): they are checked with the rest, so an unknown key lists every known one, and
// *checked (if non-null) receives the whole checked top level, their defaults filled in. Sets
// both device fields (SessionConfig::device, neocortex.device). Endpoints are not part of the
// tree (the Lua table and snapshot configs carry them beside it).
Expected<SessionConfig> session_config_from_settings(const nlohmann::json& tree,
                                                     const std::string& where,
                                                     const std::vector<Setting>& extra = {},
                                                     nlohmann::json* checked = nullptr,
                                                     bool tolerate_other_kinds = false);

// The tree session_config_from_settings() reads back to an equal configuration (endpoints
// aside): every setting with its value, the memory kind's options with their defaults filled in
// (so a snapshot rebuilds the same session even if a default changes later).
nlohmann::json session_config_to_settings(const SessionConfig& config);

}  // namespace engram
