#include "bindings/lua/lua_config_values.h"

#include <cmath>
#include <string>
#include <vector>

namespace engram::lua {
namespace {

// The items of argument 1 (or argument 2 when 1 is nil), split at commas and white space.
std::vector<std::string> items(lua_State* L, const char* what) {
  const int idx = lua_isnoneornil(L, 1) ? 2 : 1;
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
    if (!lua_isinteger(L, -1)) {
      lua_Integer as_integer = 0;
      if (lua_numbertointeger(lua_tonumber(L, -1), &as_integer)) {
        if (static_cast<lua_Number>(as_integer) == lua_tonumber(L, -1)) {
          lua_pop(L, 1);
          lua_pushinteger(L, as_integer);
        }
      }
    }
    lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
  }
  return 1;
}

}  // namespace

void open_config_values(lua_State* L) {
  const luaL_Reg funcs[] = {{"list", l_list}, {"numbers", l_numbers}, {nullptr, nullptr}};
  luaL_setfuncs(L, funcs, 0);
}

}  // namespace engram::lua
