#include "runtime/lua_value.h"

#include <cstdio>

namespace engram {

void push_lua_value(lua_State* L, const LuaValue& value) {
  switch (value.index()) {
    case 0: lua_pushnil(L); break;
    case 1: lua_pushboolean(L, std::get<bool>(value) ? 1 : 0); break;
    case 2: lua_pushinteger(L, static_cast<lua_Integer>(std::get<int64_t>(value))); break;
    case 3: lua_pushnumber(L, static_cast<lua_Number>(std::get<double>(value))); break;
    default: {
      const std::string& s = std::get<std::string>(value);
      lua_pushlstring(L, s.data(), s.size());
    }
  }
}

LuaValue to_lua_value(lua_State* L, int index) {
  switch (lua_type(L, index)) {
    case LUA_TBOOLEAN: return lua_toboolean(L, index) != 0;
    case LUA_TNUMBER:
      if (lua_isinteger(L, index)) return static_cast<int64_t>(lua_tointeger(L, index));
      return static_cast<double>(lua_tonumber(L, index));
    case LUA_TSTRING: {
      size_t len = 0;
      const char* s = lua_tolstring(L, index, &len);  // already a string: no conversion
      return std::string(s, len);
    }
    default: return std::monostate{};
  }
}

std::string lua_value_to_string(const LuaValue& value) {
  switch (value.index()) {
    case 0: return "nil";
    case 1: return std::get<bool>(value) ? "true" : "false";
    case 2: return std::to_string(std::get<int64_t>(value));
    case 3: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.14g", std::get<double>(value));
      return buf;
    }
    default: return std::get<std::string>(value);
  }
}

}  // namespace engram
