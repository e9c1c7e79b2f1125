// The `replay` option of rt:learn, rt:consolidate and rt:learn_stream: a number (recollections
// per batch) or a table of replay options (modules/session/replay_options.h), whose `sampler`
// may be a Lua function the runtime calls once per phase (never per sample).
#pragma once

#include <lua.hpp>

#include "modules/session/replay_options.h"
#include "modules/session/session.h"

namespace engram::lua {

// Reads the value at `index` (a number or a table; nil = the defaults) as replay options for
// `session`, naming `what` in errors (raised as Lua errors with the script line). A sampler
// function is called here, once, with a table
//   { classes = K, tasks = T, seen_classes = {ids}, learned_tasks = {ids in first-learned
//     order}, per_class = {stored counts, index = class id + 1}, per_task = {...} }
// and must return { class = { [id] = weight, ... } } or { task = { [id] = weight, ... } }
// (ids 0-based; absent ids weigh 0; weights finite and >= 0, not all 0). Its own errors carry
// its `file.lua:LINE`.
ReplayOptions read_replay(lua_State* L, int index, const char* what, Session& session);

}  // namespace engram::lua
