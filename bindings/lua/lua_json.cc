#include "bindings/lua/lua_json.h"

namespace engram::lua {
namespace {

// A Lua value as JSON: tables with keys 1..n become arrays (empty tables too), other tables
// objects with string keys. Functions, userdata and cycles are errors.
nlohmann::json to_json_at(lua_State* L, int idx, const char* what, int depth) {
  idx = lua_absindex(L, idx);
  if (depth > 32) luaL_error(L, "%s: nesting deeper than 32 (a cycle?)", what);
  switch (lua_type(L, idx)) {
    case LUA_TNIL: return nullptr;
    case LUA_TBOOLEAN: return lua_toboolean(L, idx) != 0;
    case LUA_TNUMBER:
      if (lua_isinteger(L, idx)) return static_cast<int64_t>(lua_tointeger(L, idx));
      return lua_tonumber(L, idx);  // NaN and infinities stay numbers; dump() writes null
    case LUA_TSTRING: return std::string(lua_tostring(L, idx));
    case LUA_TTABLE: {
      const lua_Integer n = static_cast<lua_Integer>(lua_rawlen(L, idx));
      size_t keys = 0;
      lua_pushnil(L);
      while (lua_next(L, idx) != 0) {
        ++keys;
        lua_pop(L, 1);
      }
      if (static_cast<lua_Integer>(keys) == n) {
        nlohmann::json arr = nlohmann::json::array();
        for (lua_Integer i = 1; i <= n; ++i) {
          lua_geti(L, idx, i);
          arr.push_back(to_json_at(L, -1, what, depth + 1));
          lua_pop(L, 1);
        }
        return arr;
      }
      nlohmann::json obj = nlohmann::json::object();
      lua_pushnil(L);
      while (lua_next(L, idx) != 0) {
        lua_pushvalue(L, -2);
        const char* key = lua_tostring(L, -1);
        if (key == nullptr) luaL_error(L, "%s: table keys must be strings or numbers", what);
        obj[key] = to_json_at(L, -2, what, depth + 1);
        lua_pop(L, 2);
      }
      return obj;
    }
    default:
      return luaL_error(L, "%s: cannot convert a %s to JSON", what, luaL_typename(L, idx)), nullptr;
  }
}

}  // namespace

nlohmann::json to_json(lua_State* L, int idx, const char* what) {
  return to_json_at(L, idx, what, 0);
}

void push_json(lua_State* L, const nlohmann::json& value) {
  luaL_checkstack(L, 4, "push_json: nesting too deep");
  switch (value.type()) {
    case nlohmann::json::value_t::null: lua_pushnil(L); break;
    case nlohmann::json::value_t::boolean: lua_pushboolean(L, value.get<bool>()); break;
    case nlohmann::json::value_t::number_integer:
      lua_pushinteger(L, static_cast<lua_Integer>(value.get<int64_t>()));
      break;
    case nlohmann::json::value_t::number_unsigned: {
      // Beyond lua_Integer it becomes a float, as the same literal does in Lua (never negative).
      const uint64_t v = value.get<uint64_t>();
      if (v <= static_cast<uint64_t>(LUA_MAXINTEGER)) {
        lua_pushinteger(L, static_cast<lua_Integer>(v));
      } else {
        lua_pushnumber(L, static_cast<lua_Number>(v));
      }
      break;
    }
    case nlohmann::json::value_t::number_float: lua_pushnumber(L, value.get<double>()); break;
    case nlohmann::json::value_t::string:
      lua_pushstring(L, value.get_ref<const std::string&>().c_str());
      break;
    case nlohmann::json::value_t::array: {
      lua_createtable(L, static_cast<int>(value.size()), 0);
      lua_Integer i = 1;
      for (const auto& item : value) {
        push_json(L, item);
        lua_rawseti(L, -2, i++);
      }
      break;
    }
    case nlohmann::json::value_t::object: {
      lua_createtable(L, 0, static_cast<int>(value.size()));
      for (const auto& [key, item] : value.items()) {
        push_json(L, item);
        lua_setfield(L, -2, key.c_str());
      }
      break;
    }
    default: lua_pushnil(L); break;  // binary values never come from JSON text
  }
}

}  // namespace engram::lua
