// Reading list-valued settings in Lua: `--set columns=real,buffer_10x` arrives in a script as
// the string "real,buffer_10x". engram.list and engram.numbers turn such a value into a table.
#pragma once

#include <lua.hpp>

namespace engram::lua {

// Adds to the table on top of the stack:
//   engram.list(value, default) -> {strings}: value (or default when value is nil) split at
//     commas and white space; empty items are dropped. value and default must be strings or
//     numbers.
//   engram.numbers(value, default) -> {numbers}: the same items, each converted to a number;
//     integral values become integers ("1e5" -> 100000). An item that is not a number is an
//     error naming it.
void open_config_values(lua_State* L);

}  // namespace engram::lua
