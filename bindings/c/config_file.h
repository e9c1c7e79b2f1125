// Reading an online agent's configuration from a file: JSON, or a Lua script that returns it.
#pragma once

#include <string>

#include "modules/session/agent_config.h"
#include "runtime/status.h"

namespace engram {

// Reads `path`: a ".json" file holding the configuration object, or a ".lua" script (run in
// engram's sandbox with the `engram` module) whose return value is the configuration table.
// Errors: not_found/io_error (file), invalid_argument (other extension), script_error (the
// script failed or returned no table), and agent_config_from_json's errors.
Expected<AgentConfig> read_agent_config_file(const std::string& path);

}  // namespace engram
