#include "bindings/lua/lua_reports.h"

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

#include "bindings/lua/lua_json.h"
#include "bindings/lua/lua_table.h"
#include "io/reports/metrics.h"
#include "io/reports/results_writer.h"
#include "runtime/atomic_file.h"
#include "runtime/lua_engine.h"

namespace engram::lua {
namespace {

std::vector<std::string> string_list(lua_State* L, int idx, const char* what) {
  luaL_checktype(L, idx, LUA_TTABLE);
  std::vector<std::string> out;
  for (lua_Integer i = 1; i <= luaL_len(L, idx); ++i) {
    lua_geti(L, idx, i);
    if (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER) {
      luaL_error(L, "%s: entries must be strings or numbers", what);
    }
    out.emplace_back(lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  return out;
}

std::vector<std::vector<std::string>> rows_arg(lua_State* L, int idx, const char* what) {
  luaL_checktype(L, idx, LUA_TTABLE);
  std::vector<std::vector<std::string>> rows;
  for (lua_Integer i = 1; i <= luaL_len(L, idx); ++i) {
    lua_geti(L, idx, i);
    rows.push_back(string_list(L, lua_gettop(L), what));
    lua_pop(L, 1);
  }
  return rows;
}

// engram.metrics(R [, baseline]) -> {acc, bwt, forgetting, forgetting_per_task [, fwt]}.
// baseline: the accuracy on each task of the model before it learned anything (one per task,
// e.g. rt:accuracy(t) of a fresh runtime); with it, FWT is computed (io/reports/metrics.h).
int l_metrics(lua_State* L) {
  return lua_guarded(L, [](lua_State* L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    std::vector<double> baseline;
    const bool has_baseline = !lua_isnoneornil(L, 2);
    if (has_baseline) {
      luaL_checktype(L, 2, LUA_TTABLE);
      for (lua_Integer j = 1; j <= luaL_len(L, 2); ++j) {
        lua_geti(L, 2, j);
        baseline.push_back(luaL_checknumber(L, -1));
        lua_pop(L, 1);
      }
    }
    std::vector<std::vector<double>> r;
    for (lua_Integer i = 1; i <= luaL_len(L, 1); ++i) {
      lua_geti(L, 1, i);
      luaL_checktype(L, -1, LUA_TTABLE);
      std::vector<double> row;
      for (lua_Integer j = 1; j <= luaL_len(L, -1); ++j) {
        lua_geti(L, -1, j);
        row.push_back(luaL_checknumber(L, -1));
        lua_pop(L, 1);
      }
      r.push_back(std::move(row));
      lua_pop(L, 1);
    }
    auto m = compute_metrics(r, has_baseline ? &baseline : nullptr);
    if (!m.ok()) return raise(L, m.status());
    lua_createtable(L, 0, 5);
    if (m->fwt) {
      lua_pushnumber(L, *m->fwt);
      lua_setfield(L, -2, "fwt");
    }
    lua_pushnumber(L, m->acc);
    lua_setfield(L, -2, "acc");
    lua_pushnumber(L, m->bwt);
    lua_setfield(L, -2, "bwt");
    lua_pushnumber(L, m->forgetting);
    lua_setfield(L, -2, "forgetting");
    push_number_list(L, m->forgetting_per_task);
    lua_setfield(L, -2, "forgetting_per_task");
    return 1;
  });
}

// engram.run_dir(root, name) -> path of a new, unique run directory
constexpr const char* kRunDirsKey = "engram.run_dirs";

int l_run_dir(lua_State* L) {
  return lua_guarded(L, [](lua_State* L) {
    auto dir = make_run_dir(luaL_checkstring(L, 1), luaL_checkstring(L, 2));
    if (!dir.ok()) return raise(L, dir.status());
    // Remembered for `engram run --report`.
    if (lua_getfield(L, LUA_REGISTRYINDEX, kRunDirsKey) != LUA_TTABLE) {
      lua_pop(L, 1);
      lua_newtable(L);
      lua_pushvalue(L, -1);
      lua_setfield(L, LUA_REGISTRYINDEX, kRunDirsKey);
    }
    lua_pushstring(L, dir->c_str());
    lua_rawseti(L, -2, static_cast<lua_Integer>(luaL_len(L, -2)) + 1);
    lua_pop(L, 1);
    lua_pushstring(L, dir->c_str());
    return 1;
  });
}

// engram.write_json(path, value)
int l_write_json(lua_State* L) {
  return lua_guarded(L, [](lua_State* L) {
    const std::string path = luaL_checkstring(L, 1);
    if (Status s = write_json(path, to_json(L, 2, "write_json")); !s.ok()) return raise(L, s);
    return 0;
  });
}

// engram.write_csv(path, header, rows)
int l_write_csv(lua_State* L) {
  return lua_guarded(L, [](lua_State* L) {
    const std::string path = luaL_checkstring(L, 1);
    auto header = string_list(L, 2, "write_csv header");
    auto rows = rows_arg(L, 3, "write_csv rows");
    if (Status s = write_csv(path, header, rows); !s.ok()) return raise(L, s);
    return 0;
  });
}

// engram.write_text(path, text): any text (an SVG plot, a note), written atomically like CSV
int l_write_text(lua_State* L) {
  return lua_guarded(L, [](lua_State* L) {
    const std::string path = luaL_checkstring(L, 1);
    size_t size = 0;
    const char* text = luaL_checklstring(L, 2, &size);
    if (Status s = write_file_atomically(path, text, size); !s.ok()) return raise(L, s);
    return 0;
  });
}

// engram.format_table(header, rows) -> aligned plain-text table
int l_format_table(lua_State* L) {
  return lua_guarded(L, [](lua_State* L) {
    auto header = string_list(L, 1, "format_table header");
    auto rows = rows_arg(L, 2, "format_table rows");
    const std::string table = format_table(header, rows);
    lua_pushlstring(L, table.data(), table.size());
    return 1;
  });
}

// engram.clock() -> seconds on a monotonic clock (for wall times)
int l_clock(lua_State* L) {
  using namespace std::chrono;
  lua_pushnumber(L, duration<double>(steady_clock::now().time_since_epoch()).count());
  return 1;
}

}  // namespace

void open_reports(lua_State* L) {
  const luaL_Reg funcs[] = {{"metrics", l_metrics},           {"run_dir", l_run_dir},
                            {"write_json", l_write_json},     {"write_csv", l_write_csv},
                            {"format_table", l_format_table}, {"clock", l_clock},
                            {"write_text", l_write_text},     {nullptr, nullptr}};
  luaL_setfuncs(L, funcs, 0);
}

std::vector<std::string> run_dirs_made(lua_State* L) {
  std::vector<std::string> dirs;
  if (lua_getfield(L, LUA_REGISTRYINDEX, kRunDirsKey) == LUA_TTABLE) {
    const lua_Integer n = luaL_len(L, -1);
    for (lua_Integer i = 1; i <= n; ++i) {
      if (lua_rawgeti(L, -1, i) == LUA_TSTRING) dirs.emplace_back(lua_tostring(L, -1));
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  return dirs;
}

}  // namespace engram::lua
