// Where a runtime's modules live, read from a Lua table (engram.runtime{} and engram.restore):
//   placement = { hippocampus = "tcp://127.0.0.1:5701" },   -- served by `engram serve`
//   curve = { server_public_key = "...", client_secret_key = "..." },  -- `engram keygen`
//   heartbeat = { interval_ms = 500, timeout_ms = 3000 },
#pragma once

#include <lua.hpp>

#include "modules/session/remote_modules.h"

namespace engram::lua {

// The fields placement, curve and heartbeat of the table at `index` (each optional). `what`
// names the table in errors ("runtime" -> "runtime.placement.association: ..."). Raises a Lua
// error for unknown keys, wrong types and everything validate_remote_modules refuses.
RemoteModulesConfig remote_modules_from_lua(lua_State* L, int index, const char* what);

}  // namespace engram::lua
