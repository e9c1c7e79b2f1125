#include "bindings/lua/lua_replay.h"

#include <cmath>
#include <string>
#include <vector>

#include "bindings/lua/lua_json.h"
#include "bindings/lua/lua_table.h"

namespace engram::lua {
namespace {

// Pushes the table a sampler function receives.
void push_sampler_info(lua_State* L, Session& session) {
  lua_createtable(L, 0, 6);
  const std::vector<uint8_t>& seen = session.seen_classes();
  set_int(L, "classes", static_cast<long long>(seen.size()));
  set_int(L, "tasks", session.config().num_tasks);
  std::vector<long long> seen_ids,
      learned(session.learned_tasks().begin(), session.learned_tasks().end());
  for (size_t c = 0; c < seen.size(); ++c) {
    if (seen[c]) seen_ids.push_back(static_cast<long long>(c));
  }
  push_integer_list(L, seen_ids);
  lua_setfield(L, -2, "seen_classes");
  push_integer_list(L, learned);
  lua_setfield(L, -2, "learned_tasks");
  auto stats = session.memory_stats();
  if (!stats.ok()) raise(L, stats.status());
  push_integer_list(L, std::vector<long long>(stats->per_class.begin(), stats->per_class.end()));
  lua_setfield(L, -2, "per_class");
  push_integer_list(L, std::vector<long long>(stats->per_task.begin(), stats->per_task.end()));
  lua_setfield(L, -2, "per_task");
}

// Reads the weights table at the top of the stack ({[id] = w}) into `out` (size n).
void read_weights(lua_State* L, const std::string& what, const std::string& by,
                  std::vector<double>& out, int n) {
  out.assign(static_cast<size_t>(n), 0.0);
  auto fail = [&](const std::string& message) {
    luaL_error(L, "%s", (what + ": " + message).c_str());
  };
  lua_pushnil(L);
  while (lua_next(L, -2) != 0) {
    if (!lua_isinteger(L, -2)) {
      fail(by + " weights must be keyed by " + by + " id (an integer), found the key " +
           luaL_tolstring(L, -2, nullptr));
    }
    const lua_Integer id = lua_tointeger(L, -2);
    const std::string name = by + " " + std::to_string(id);
    if (id < 0 || id >= n) fail(name + " is unknown (ids are 0 to " + std::to_string(n - 1) + ")");
    if (!lua_isnumber(L, -1)) fail("the weight of " + name + " is not a number");
    const double w = lua_tonumber(L, -1);
    if (!std::isfinite(w) || w < 0) {
      fail("the weight of " + name + " is " + std::to_string(w) + " (must be finite and >= 0)");
    }
    out[static_cast<size_t>(id)] = w;
    lua_pop(L, 1);
  }
}

// Calls the sampler function at `fn` and fills o.class_weights or o.task_weights.
void call_sampler(lua_State* L, int fn, const std::string& what, Session& session,
                  ReplayOptions& o) {
  lua_pushvalue(L, fn);
  push_sampler_info(L, session);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
    luaL_error(L, "%s function failed: %s", what.c_str(), lua_tostring(L, -1));
  }
  if (!lua_istable(L, -1)) luaL_error(L, "%s function must return a table", what.c_str());
  const int result = lua_gettop(L);
  const bool by_class = lua_getfield(L, result, "class") == LUA_TTABLE;
  lua_pop(L, 1);
  const bool by_task = lua_getfield(L, result, "task") == LUA_TTABLE;
  lua_pop(L, 1);
  if (by_class == by_task) {
    luaL_error(L, "%s function must return { class = {...} } or { task = {...} }", what.c_str());
  }
  lua_getfield(L, result, by_class ? "class" : "task");
  if (by_class) {
    read_weights(L, what, "class", o.class_weights,
                 static_cast<int>(session.seen_classes().size()));
  } else {
    read_weights(L, what, "task", o.task_weights, session.config().num_tasks);
  }
  lua_pop(L, 2);
  o.sampler = RecallSampler::weighted;
}

}  // namespace

ReplayOptions read_replay(lua_State* L, int index, const char* what, Session& session) {
  index = lua_absindex(L, index);
  if (lua_isnoneornil(L, index)) return ReplayOptions{};
  nlohmann::json spec;
  bool function_sampler = false;
  if (lua_istable(L, index)) {
    lua_getfield(L, index, "sampler");
    function_sampler = lua_isfunction(L, -1);
    lua_pop(L, 1);
    // The table without a function sampler, as JSON for the declared reader.
    lua_newtable(L);
    lua_pushnil(L);
    while (lua_next(L, index) != 0) {
      const bool skip = function_sampler && lua_type(L, -2) == LUA_TSTRING &&
                        std::string(lua_tostring(L, -2)) == "sampler";
      if (skip) {
        lua_pop(L, 1);
      } else {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_settable(L, -4);
      }
    }
    spec = to_json(L, -1, what);
    lua_pop(L, 1);
  } else {
    spec = to_json(L, index, what);
  }
  auto options = replay_options_from_json(spec, what);
  if (!options.ok()) raise(L, options.status());
  if (function_sampler) {
    lua_getfield(L, index, "sampler");
    call_sampler(L, lua_gettop(L), std::string(what) + ".sampler", session, *options);
    lua_pop(L, 1);
  }
  Status valid = validate(*options, static_cast<int>(session.seen_classes().size()),
                          session.config().num_tasks);
  if (!valid.ok()) raise(L, valid);
  return *options;
}

}  // namespace engram::lua
