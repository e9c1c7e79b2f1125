// The sandboxed standard library of a LuaEngine state.
#pragma once

#include <lua.hpp>

namespace engram {

// Opens base, table, string, math, coroutine and utf8 into L and then closes the holes:
//  - io, os, package, debug, require, dofile and loadfile are nil (those libraries are never
//    opened; the names are cleared so that scripts can test for them);
//  - load always compiles in text mode ("t" is forced even if a script passes "b" or "bt");
//  - string.dump is nil;
//  - collectgarbage accepts only "collect" (the default), "count", "step" and "isrunning";
//    "stop", "restart", "incremental", "generational", "setpause" and "setstepmul" raise an
//    error, so a script cannot switch the collector off and push the host to its memory limit;
//  - setmetatable refuses a metatable with a __gc field: finalizers run with hooks disabled,
//    so a looping finalizer would escape the instruction budget;
//  - coroutine.create and coroutine.wrap run the body through push_coroutine_body (below);
//  - the string metatable is locked (getmetatable('') returns false), so scripts cannot give
//    strings new metamethods such as __close or __index;
//  - print is replaced by `print_fn`.
// Raises Lua errors (out of memory): call it in protected mode.
void open_sandbox(lua_State* L, lua_CFunction print_fn);

// Pops the function on top of L and pushes a C function that calls it, with the same arguments,
// results and yields, inside a yieldable protected call with message_handler (or none if
// nullptr), and then re-raises any error.
//
// Why: an error raised by a count hook leaves the hook-disable flag set on its thread until a
// protected call catches the error. A coroutine that dies of such an error without one would
// later run its __close handlers (coroutine.close, coroutine.wrap, the host) with hooks off,
// out of reach of the instruction budget. Inside this wrapper the error is caught first, the
// handlers run with hooks on, and the re-raise comes from C, outside any hook.
void push_coroutine_body(lua_State* L, lua_CFunction message_handler);

}  // namespace engram
