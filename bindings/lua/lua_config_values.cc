#include "bindings/lua/lua_config_values.h"

#include "bindings/lua/lua_table.h"

#include <cmath>
#include <string>
#include <vector>

namespace engram::lua {
namespace {

// Where a setting's value is: argument 1, or argument 2 (the default) when 1 is nil.
int setting_index(lua_State* L) { return lua_isnoneornil(L, 1) ? 2 : 1; }

// The items of argument 1 (or argument 2 when 1 is nil), split at commas and white space.
std::vector<std::string> items(lua_State* L, const char* what) {
  const int idx = setting_index(L);
  const int type = lua_type(L, idx);
  if (type != LUA_TSTRING && type != LUA_TNUMBER) {
    luaL_error(L, "%s: expected a comma-separated string, got %s", what, luaL_typename(L, idx));
  }
  const std::string text = lua_tostring(L, idx);
  std::vector<std::string> out;
  std::string item;
  for (char ch : text) {
    if (ch == ',' || ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
      if (!item.empty()) out.push_back(item);
      item.clear();
    } else {
      item += ch;
    }
  }
  if (!item.empty()) out.push_back(item);
  return out;
}

// Pushes the number that `idx` holds or spells (a number, or a string Lua reads as one).
// Returns false (pushing nothing) when it is neither.
bool push_number(lua_State* L, int idx) {
  if (lua_type(L, idx) == LUA_TNUMBER) {
    lua_pushvalue(L, idx);
    return true;
  }
  return lua_type(L, idx) == LUA_TSTRING && lua_stringtonumber(L, lua_tostring(L, idx)) != 0;
}

// Replaces the number on top of the stack by an integer when it is a float with an integral
// value inside the integer range; leaves it alone otherwise.
void integral_to_integer(lua_State* L) {
  if (lua_isinteger(L, -1)) return;
  const lua_Number n = lua_tonumber(L, -1);
  lua_Integer as_integer = 0;
  if (std::floor(n) == n && lua_numbertointeger(n, &as_integer)) {
    lua_pop(L, 1);
    lua_pushinteger(L, as_integer);
  }
}

int l_integer(lua_State* L) {
  const int idx = setting_index(L);
  if (push_number(L, idx)) {
    integral_to_integer(L);
    if (lua_isinteger(L, -1)) return 1;
    lua_pop(L, 1);
  }
  return luaL_error(L, "engram.integer: '%s' is not an integer", luaL_tolstring(L, idx, nullptr));
}

int l_number(lua_State* L) {
  const int idx = setting_index(L);
  if (!push_number(L, idx)) {
    return luaL_error(L, "engram.number: '%s' is not a number", luaL_tolstring(L, idx, nullptr));
  }
  return 1;
}

int l_boolean(lua_State* L) {
  const int idx = setting_index(L);
  const int type = lua_type(L, idx);
  if (type == LUA_TBOOLEAN) {
    lua_pushboolean(L, lua_toboolean(L, idx));
    return 1;
  }
  if (type == LUA_TSTRING || type == LUA_TNUMBER) {
    const std::string text = lua_tostring(L, idx);
    for (const char* yes : {"true", "yes", "1"}) {
      if (text == yes) {
        lua_pushboolean(L, 1);
        return 1;
      }
    }
    for (const char* no : {"false", "no", "0"}) {
      if (text == no) {
        lua_pushboolean(L, 0);
        return 1;
      }
    }
  }
  return luaL_error(L, "engram.boolean: '%s' is not true or false (true/yes/1, false/no/0)",
                    luaL_tolstring(L, idx, nullptr));
}

int l_list(lua_State* L) {
  const std::vector<std::string> list = items(L, "engram.list");
  lua_createtable(L, static_cast<int>(list.size()), 0);
  for (size_t i = 0; i < list.size(); ++i) {
    lua_pushlstring(L, list[i].data(), list[i].size());
    lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
  }
  return 1;
}

int l_numbers(lua_State* L) {
  const std::vector<std::string> list = items(L, "engram.numbers");
  lua_createtable(L, static_cast<int>(list.size()), 0);
  for (size_t i = 0; i < list.size(); ++i) {
    if (lua_stringtonumber(L, list[i].c_str()) == 0) {
      return luaL_error(L, "engram.numbers: '%s' is not a number", list[i].c_str());
    }
    integral_to_integer(L);
    lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
  }
  return 1;
}

int l_settings(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  std::vector<std::string> names;
  for (lua_Integer i = 1; i <= luaL_len(L, 1); ++i) {
    if (lua_geti(L, 1, i) != LUA_TSTRING) {
      return luaL_error(L, "engram.settings: entry %d of the names is not a string",
                        static_cast<int>(i));
    }
    names.emplace_back(lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  const int type = lua_getglobal(L, "config");
  if (type == LUA_TNIL) {
    lua_pop(L, 1);
    lua_newtable(L);
    return 1;
  }
  if (type != LUA_TTABLE) return luaL_error(L, "engram.settings: config is not a table");
  const std::string key = unknown_key(L, -1, "engram.settings: config", names);
  if (key.empty()) return 1;
  return luaL_error(L, "unknown setting '%s'%s; this script takes: %s", key.c_str(),
                    did_you_mean(key, names).c_str(), join_names(names).c_str());
}

}  // namespace

void open_config_values(lua_State* L) {
  const luaL_Reg funcs[] = {{"settings", l_settings}, {"integer", l_integer},
                            {"number", l_number},     {"boolean", l_boolean},
                            {"list", l_list},         {"numbers", l_numbers},
                            {nullptr, nullptr}};
  luaL_setfuncs(L, funcs, 0);
}

}  // namespace engram::lua
