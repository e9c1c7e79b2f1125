#include "bindings/lua/lua_table.h"

#include <algorithm>
#include <cmath>

namespace engram::lua {

std::string unknown_key(lua_State* L, int index, const char* what,
                        const std::vector<std::string>& allowed) {
  index = lua_absindex(L, index);
  luaL_checktype(L, index, LUA_TTABLE);
  lua_pushnil(L);
  while (lua_next(L, index) != 0) {
    lua_pop(L, 1);  // value
    if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "%s: keys must be names", what);
    std::string key = lua_tostring(L, -1);
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      lua_pop(L, 1);  // the key: the traversal ends here
      return key;
    }
  }
  return "";
}

std::string join_names(const std::vector<std::string>& allowed) {
  std::string list;
  for (const std::string& name : allowed) list += (list.empty() ? "" : ", ") + name;
  return list;
}

void check_keys(lua_State* L, int index, const char* what,
                std::initializer_list<const char*> allowed) {
  const std::vector<std::string> names(allowed.begin(), allowed.end());
  const std::string key = unknown_key(L, index, what, names);
  if (key.empty()) return;
  luaL_error(L, "%s: unknown field '%s'%s (known: %s)", what, key.c_str(),
             did_you_mean(key, names).c_str(), join_names(names).c_str());
}

double opt_number(lua_State* L, int index, const char* what, const char* field, double fallback) {
  const int type = lua_getfield(L, index, field);
  double v = fallback;
  if (type == LUA_TNUMBER) {
    v = lua_tonumber(L, -1);
  } else if (type != LUA_TNIL) {
    luaL_error(L, "%s.%s must be a number, got %s", what, field, lua_typename(L, type));
  }
  lua_pop(L, 1);
  if (!std::isfinite(v)) luaL_error(L, "%s.%s must be finite", what, field);
  return v;
}

long long check_integer(lua_State* L, int index, const char* name, long long min, long long max) {
  int ok = 0;
  const lua_Integer v = lua_tointegerx(L, index, &ok);
  if (!ok) {
    const int type = lua_type(L, index);
    if (type == LUA_TNUMBER || type == LUA_TSTRING) {
      luaL_error(L, "%s must be an integer, got %s", name, luaL_tolstring(L, index, nullptr));
    }
    luaL_error(L, "%s must be an integer, got %s", name, luaL_typename(L, index));
  }
  if (v < min || v > max) {
    luaL_error(L, "%s must be in [%I, %I], got %I", name, static_cast<lua_Integer>(min),
               static_cast<lua_Integer>(max), v);
  }
  return static_cast<long long>(v);
}

long long opt_integer(lua_State* L, int index, const char* what, const char* field,
                      long long fallback, long long min, long long max) {
  const int type = lua_getfield(L, index, field);
  long long v = fallback;
  if (type != LUA_TNIL) {
    v = check_integer(L, -1, (std::string(what) + "." + field).c_str(), min, max);
  } else if (v < min || v > max) {  // a default outside the range is a bug of the caller
    luaL_error(L, "%s.%s: default %I is outside [%I, %I]", what, field, static_cast<lua_Integer>(v),
               static_cast<lua_Integer>(min), static_cast<lua_Integer>(max));
  }
  lua_pop(L, 1);
  return v;
}

std::string opt_string(lua_State* L, int index, const char* what, const char* field,
                       const std::string& fallback) {
  const int type = lua_getfield(L, index, field);
  std::string v = fallback;
  if (type == LUA_TSTRING) {
    v = lua_tostring(L, -1);
  } else if (type != LUA_TNIL) {
    luaL_error(L, "%s.%s must be a string, got %s", what, field, lua_typename(L, type));
  }
  lua_pop(L, 1);
  return v;
}

bool opt_boolean(lua_State* L, int index, const char* what, const char* field, bool fallback) {
  const int type = lua_getfield(L, index, field);
  bool v = fallback;
  if (type == LUA_TBOOLEAN) {
    v = lua_toboolean(L, -1) != 0;
  } else if (type != LUA_TNIL) {
    luaL_error(L, "%s.%s must be a boolean, got %s", what, field, lua_typename(L, type));
  }
  lua_pop(L, 1);
  return v;
}

std::vector<int> opt_int_list(lua_State* L, int index, const char* what, const char* field,
                              const std::vector<int>& fallback) {
  const int type = lua_getfield(L, index, field);
  if (type == LUA_TNIL) {
    lua_pop(L, 1);
    return fallback;
  }
  if (type != LUA_TTABLE) luaL_error(L, "%s.%s must be a list of integers", what, field);
  std::vector<int> out;
  const lua_Integer n = luaL_len(L, -1);
  for (lua_Integer i = 1; i <= n; ++i) {
    lua_geti(L, -1, i);
    const std::string name = std::string(what) + "." + field + "[" + std::to_string(i) + "]";
    out.push_back(check_int<int>(L, -1, name.c_str()));
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return out;
}

bool push_subtable(lua_State* L, int index, const char* what, const char* field) {
  const int type = lua_getfield(L, index, field);
  if (type == LUA_TTABLE) return true;
  lua_pop(L, 1);
  if (type != LUA_TNIL) luaL_error(L, "%s.%s must be a table", what, field);
  return false;
}

void push_number_list(lua_State* L, const std::vector<double>& values) {
  lua_createtable(L, static_cast<int>(values.size()), 0);
  for (size_t i = 0; i < values.size(); ++i) {
    lua_pushnumber(L, values[i]);
    lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
  }
}

void push_integer_list(lua_State* L, const std::vector<long long>& values) {
  lua_createtable(L, static_cast<int>(values.size()), 0);
  for (size_t i = 0; i < values.size(); ++i) {
    lua_pushinteger(L, static_cast<lua_Integer>(values[i]));
    lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
  }
}

void set_int(lua_State* L, const char* k, long long v) {
  lua_pushinteger(L, static_cast<lua_Integer>(v));
  lua_setfield(L, -2, k);
}

void set_number(lua_State* L, const char* k, double v) {
  lua_pushnumber(L, v);
  lua_setfield(L, -2, k);
}

int raise(lua_State* L, const Status& s) { return luaL_error(L, "%s", s.message().c_str()); }

}  // namespace engram::lua
