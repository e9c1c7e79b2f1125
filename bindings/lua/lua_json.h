// Lua values <-> JSON, for result files and the script section of snapshots.
#pragma once

#include <lua.hpp>
#include <nlohmann/json.hpp>

namespace engram::lua {

// The Lua value at idx as JSON: tables with keys 1..n become arrays (empty tables too), other
// tables objects with string keys (number keys become strings). Non-finite numbers stay numbers
// (a settings reader can name them: "lr must be a finite number, got nan"); dump() writes them
// as null.
// Functions, userdata and cycles raise a Lua error starting with `what`.
nlohmann::json to_json(lua_State* L, int idx, const char* what);

// Pushes a JSON value as the Lua value to_json() would map to it.
void push_json(lua_State* L, const nlohmann::json& value);

}  // namespace engram::lua
