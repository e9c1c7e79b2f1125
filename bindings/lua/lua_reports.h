// Metrics and result files in Lua: engram.metrics, engram.run_dir, engram.write_json,
// engram.write_csv, engram.write_text, engram.format_table, engram.clock.
#pragma once

#include <lua.hpp>

#include <string>
#include <vector>

namespace engram::lua {

// Adds the functions to the table on top of the stack.
void open_reports(lua_State* L);

// The run directories engram.run_dir has made in this state, in order (`engram run --report`
// writes a report in each).
std::vector<std::string> run_dirs_made(lua_State* L);

}  // namespace engram::lua
