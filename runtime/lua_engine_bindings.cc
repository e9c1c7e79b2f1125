// LuaEngine's host bindings: globals, host functions and libraries, script arguments.
#include <new>
#include <utility>

#include "runtime/lua_engine.h"

namespace engram {
namespace {

constexpr const char kHostFunctionMeta[] = "engram.host_function";

int call_host_function(lua_State* L) {
  auto* fn = static_cast<LuaHostFunction*>(lua_touserdata(L, lua_upvalueindex(1)));
  return lua_guarded(L, *fn);
}

int destroy_host_function(lua_State* L) {
  auto* fn = static_cast<LuaHostFunction*>(luaL_checkudata(L, 1, kHostFunctionMeta));
  fn->~LuaHostFunction();
  return 0;
}

// Pushes the globals table, then the key (so that a raw set or get follows).
void push_globals_and_key(lua_State* L, const std::string& name) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
  lua_pushlstring(L, name.data(), name.size());
}

// Pops the value on top and stores it as global `name`, bypassing metamethods of _G.
void raw_set_global(lua_State* L, const std::string& name) {
  push_globals_and_key(L, name);
  lua_rotate(L, -3, -1);  // value, globals, key -> globals, key, value
  lua_rawset(L, -3);
  lua_pop(L, 1);
}

// Pushes global `name` (raw) or a new table stored there if it is not a table.
void push_global_table(lua_State* L, const std::string& name) {
  push_globals_and_key(L, name);
  if (lua_rawget(L, -2) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushlstring(L, name.data(), name.size());
    lua_pushvalue(L, -2);
    lua_rawset(L, -4);
  }
  lua_remove(L, -2);
}

}  // namespace

Expected<std::vector<LuaValue>> LuaEngine::call_global(const std::string& name,
                                                       const std::vector<LuaValue>& args) {
  const int base = lua_gettop(L_);
  Expected<int> pushed = protect(0, [&](lua_State* L) {
    luaL_checkstack(L, static_cast<int>(args.size()) + 1, "too many arguments");
    push_globals_and_key(L, name);
    lua_rawget(L, -2);
    lua_remove(L, -2);
    for (const LuaValue& v : args) push_lua_value(L, v);
    return static_cast<int>(args.size()) + 1;
  });
  if (!pushed.ok()) return pushed.status();
  if (lua_type(L_, base + 1) != LUA_TFUNCTION) {
    lua_settop(L_, base);
    return Status(ErrorCode::not_found, "no global function '" + name + "'");
  }
  Expected<int> results = call(static_cast<int>(args.size()), LUA_MULTRET);
  if (!results.ok()) return results.status();
  std::vector<LuaValue> out;
  for (int i = base + 1; i <= lua_gettop(L_); ++i) out.push_back(to_lua_value(L_, i));
  lua_settop(L_, base);
  return out;
}

Status LuaEngine::set_global(const std::string& name, const LuaValue& value) {
  return protect(0,
                 [&](lua_State* L) {
                   push_lua_value(L, value);
                   raw_set_global(L, name);
                   return 0;
                 })
      .status();
}

Expected<LuaValue> LuaEngine::get_global(const std::string& name) {
  Expected<int> pushed = protect(0, [&](lua_State* L) {
    push_globals_and_key(L, name);
    lua_rawget(L, -2);
    lua_remove(L, -2);
    return 1;
  });
  if (!pushed.ok()) return pushed.status();
  LuaValue value = to_lua_value(L_, -1);
  lua_pop(L_, 1);
  return value;
}

Status LuaEngine::register_function(const std::string& name, lua_CFunction fn) {
  return protect(0,
                 [&](lua_State* L) {
                   lua_pushcfunction(L, fn);
                   raw_set_global(L, name);
                   return 0;
                 })
      .status();
}

Status LuaEngine::register_closure(const std::string& name, LuaHostFunction fn) {
  return protect(0,
                 [&](lua_State* L) {
                   void* mem = lua_newuserdatauv(L, sizeof(LuaHostFunction), 0);
                   new (mem) LuaHostFunction(std::move(fn));
                   if (luaL_newmetatable(L, kHostFunctionMeta)) {
                     lua_pushcfunction(L, &destroy_host_function);
                     lua_setfield(L, -2, "__gc");
                   }
                   lua_setmetatable(L, -2);
                   lua_pushcclosure(L, &call_host_function, 1);
                   raw_set_global(L, name);
                   return 0;
                 })
      .status();
}

Status LuaEngine::register_library(const std::string& name, const luaL_Reg* funcs) {
  return protect(0,
                 [&](lua_State* L) {
                   push_global_table(L, name);
                   luaL_setfuncs(L, funcs, 0);
                   lua_pop(L, 1);
                   return 0;
                 })
      .status();
}

Status LuaEngine::set_script_args(const std::string& script_name,
                                  const std::vector<std::string>& args) {
  return protect(0,
                 [&](lua_State* L) {
                   lua_createtable(L, static_cast<int>(args.size()), 1);
                   lua_pushlstring(L, script_name.data(), script_name.size());
                   lua_rawseti(L, -2, 0);
                   for (size_t i = 0; i < args.size(); ++i) {
                     lua_pushlstring(L, args[i].data(), args[i].size());
                     lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
                   }
                   raw_set_global(L, "arg");
                   return 0;
                 })
      .status();
}

Status LuaEngine::set_config(const std::vector<std::string>& assignments) {
  for (const std::string& a : assignments) {
    const size_t eq = a.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Status(ErrorCode::invalid_argument, "--set expects key=value, got '" + a + "'");
    }
  }
  return protect(0,
                 [&](lua_State* L) {
                   push_global_table(L, "config");
                   for (const std::string& a : assignments) {
                     const size_t eq = a.find('=');
                     const std::string value = a.substr(eq + 1);
                     lua_pushlstring(L, a.data(), eq);
                     if (value == "true" || value == "false") {
                       lua_pushboolean(L, value == "true");
                     } else if (value.empty() || lua_stringtonumber(L, value.c_str()) == 0) {
                       lua_pushlstring(L, value.data(), value.size());
                     }
                     lua_rawset(L, -3);
                   }
                   lua_pop(L, 1);
                   return 0;
                 })
      .status();
}

}  // namespace engram
