// Sensor streams in Lua: engram.stream{...} and rt:learn_stream(stream, {...}).
#pragma once

#include <lua.hpp>

namespace engram::lua {

// Adds engram.stream to the table on top of the stack and registers the Stream type.
void open_stream(lua_State* L);

// rt:learn_stream(stream, {batches, batch, replay, timeout, on, every, quiet}) -> stats (a
// Runtime method; lua_runtime.cc lists it). `on` is an event handler (lua_events.h).
int learn_stream(lua_State* L);

}  // namespace engram::lua
