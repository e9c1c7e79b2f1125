#include "runtime/lua_sandbox.h"

#include <cstring>

namespace engram {
namespace {

// Runs the original library function (a C function kept as upvalue 1) in this very call frame,
// so that its argument errors name the global and carry the caller's script line.
int forward_to_original(lua_State* L) {
  lua_CFunction original = lua_tocfunction(L, lua_upvalueindex(1));
  if (original == nullptr) return luaL_error(L, "sandbox: wrapped function is missing");
  return original(L);
}

int safe_load(lua_State* L) {
  if (lua_gettop(L) < 3) lua_settop(L, 3);  // keep a 4th argument (env) only if it was given
  lua_pushliteral(L, "t");
  lua_replace(L, 3);
  return forward_to_original(L);
}

int safe_collectgarbage(lua_State* L) {
  const char* option = luaL_optstring(L, 1, "collect");
  static const char* const kAllowed[] = {"collect", "count", "step", "isrunning"};
  for (const char* allowed : kAllowed) {
    if (std::strcmp(option, allowed) == 0) return forward_to_original(L);
  }
  return luaL_error(L,
                    "collectgarbage('%s') is not allowed in the sandbox "
                    "(allowed: collect, count, step, isrunning)",
                    option);
}

int safe_setmetatable(lua_State* L) {
  if (lua_type(L, 2) == LUA_TTABLE) {
    lua_pushliteral(L, "__gc");
    const bool has_gc = lua_rawget(L, 2) != LUA_TNIL;
    lua_pop(L, 1);
    if (has_gc)
      return luaL_error(L, "setmetatable: __gc metamethods are not allowed in the sandbox");
  }
  return forward_to_original(L);
}

int coroutine_body_done(lua_State* L, int status, lua_KContext /*ctx*/) {
  if (status != LUA_OK && status != LUA_YIELD) return lua_error(L);  // error object on top
  return lua_gettop(L) - 1;  // the results, above the handler slot
}

// Upvalue 1: the body function; upvalue 2: the message handler or nil.
int coroutine_body(lua_State* L) {
  const int nargs = lua_gettop(L);
  luaL_checkstack(L, 2, "coroutine arguments");
  lua_pushvalue(L, lua_upvalueindex(2));
  lua_insert(L, 1);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 2);
  const int handler = lua_isnil(L, 1) ? 0 : 1;
  const int status = lua_pcallk(L, nargs, LUA_MULTRET, handler, 0, &coroutine_body_done);
  return coroutine_body_done(L, status, 0);
}

// coroutine.create / coroutine.wrap (upvalue 1) over a protected body.
int safe_coroutine_new(lua_State* L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_settop(L, 1);
  push_coroutine_body(L, nullptr);
  return forward_to_original(L);
}

// Replaces field `name` of the table on top by a closure of wrapper over the original value.
void wrap_field(lua_State* L, const char* name, lua_CFunction wrapper) {
  lua_getfield(L, -1, name);
  lua_pushcclosure(L, wrapper, 1);
  lua_setfield(L, -2, name);
}

}  // namespace

void push_coroutine_body(lua_State* L, lua_CFunction message_handler) {
  if (message_handler != nullptr) {
    lua_pushcfunction(L, message_handler);
  } else {
    lua_pushnil(L);
  }
  lua_pushcclosure(L, &coroutine_body, 2);
}

void open_sandbox(lua_State* L, lua_CFunction print_fn) {
  static const luaL_Reg kLibraries[] = {
      {LUA_GNAME, luaopen_base},          {LUA_TABLIBNAME, luaopen_table},
      {LUA_STRLIBNAME, luaopen_string},   {LUA_MATHLIBNAME, luaopen_math},
      {LUA_COLIBNAME, luaopen_coroutine}, {LUA_UTF8LIBNAME, luaopen_utf8},
  };
  for (const luaL_Reg& lib : kLibraries) {
    luaL_requiref(L, lib.name, lib.func, 1);
    lua_pop(L, 1);
  }
  static const char* const kRemoved[] = {"io",      "os",     "package", "debug",
                                         "require", "dofile", "loadfile"};
  for (const char* name : kRemoved) {
    lua_pushnil(L);
    lua_setglobal(L, name);
  }
  lua_getglobal(L, LUA_STRLIBNAME);
  lua_pushnil(L);
  lua_setfield(L, -2, "dump");
  lua_pop(L, 1);
  lua_pushliteral(L, "");
  lua_getmetatable(L, -1);
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_pop(L, 2);

  lua_pushglobaltable(L);
  wrap_field(L, "load", &safe_load);
  wrap_field(L, "collectgarbage", &safe_collectgarbage);
  wrap_field(L, "setmetatable", &safe_setmetatable);
  lua_pop(L, 1);
  lua_getglobal(L, LUA_COLIBNAME);
  wrap_field(L, "create", &safe_coroutine_new);
  wrap_field(L, "wrap", &safe_coroutine_new);
  lua_pop(L, 1);
  lua_pushcfunction(L, print_fn);
  lua_setglobal(L, "print");
}

}  // namespace engram
