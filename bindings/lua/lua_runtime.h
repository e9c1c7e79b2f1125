// engram.runtime{...} in Lua: a learning Session (three module actors) and its methods.
#pragma once

#include <lua.hpp>

namespace engram::lua {

// Registers the Runtime metatable and adds `runtime` to the table on top of the stack.
void open_runtime(lua_State* L);

}  // namespace engram::lua
