// LuaValue: the scalar values the host exchanges with scripts (globals, coroutine arguments,
// yielded values) without writing stack code.
#pragma once

#include <lua.hpp>

#include <cstdint>
#include <string>
#include <variant>

namespace engram {

// nil, boolean, integer, float or string. std::monostate is nil; it also stands for values that
// have no scalar form (tables, functions, userdata, threads): read those with the stack API.
using LuaValue = std::variant<std::monostate, bool, int64_t, double, std::string>;

// Pushes value onto L. May raise a Lua error (out of memory), so call it only in protected code:
// inside LuaEngine::protect, a lua_CFunction or a coroutine argument pusher.
void push_lua_value(lua_State* L, const LuaValue& value);

// The value at index, read without converting it in place and without raising errors.
LuaValue to_lua_value(lua_State* L, int index);

// Lua's spelling of a value for messages and tests: nil, true, 42, 0.5, or the string itself.
std::string lua_value_to_string(const LuaValue& value);

}  // namespace engram
