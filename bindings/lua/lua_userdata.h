// Userdata that hold a std::shared_ptr<T>, with a metatable named after the type.
#pragma once

#include <lua.hpp>

#include <memory>
#include <new>

namespace engram::lua {

// Pushes a new userdata holding p, with metatable `meta` (created by register_type()).
template <typename T>
void push_shared(lua_State* L, std::shared_ptr<T> p, const char* meta) {
  void* mem = lua_newuserdatauv(L, sizeof(std::shared_ptr<T>), 0);
  new (mem) std::shared_ptr<T>(std::move(p));
  luaL_setmetatable(L, meta);
}

// The pointer held by the userdata at idx; a Lua error if it is not a `meta` or was closed.
template <typename T>
std::shared_ptr<T>& check_shared(lua_State* L, int idx, const char* meta) {
  auto* p = static_cast<std::shared_ptr<T>*>(luaL_checkudata(L, idx, meta));
  if (!*p) luaL_error(L, "%s has been closed", meta);
  return *p;
}

// __gc for push_shared userdata: releases the pointer.
template <typename T>
int gc_shared(lua_State* L) {
  auto* p = static_cast<std::shared_ptr<T>*>(lua_touserdata(L, 1));
  if (p != nullptr) p->~shared_ptr<T>();
  return 0;
}

// Creates metatable `meta` with __gc, methods in __index (a table) and optional __tostring.
template <typename T>
void register_type(lua_State* L, const char* meta, const luaL_Reg* methods,
                   lua_CFunction tostring = nullptr) {
  luaL_newmetatable(L, meta);
  lua_pushcfunction(L, &gc_shared<T>);
  lua_setfield(L, -2, "__gc");
  if (tostring != nullptr) {
    lua_pushcfunction(L, tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_newtable(L);
  luaL_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
}

}  // namespace engram::lua
