// Reading a script's settings in Lua. `--set key=value` pairs arrive in the global table
// `config`; engram.settings refuses keys the script does not take (a typo must not silently
// leave a default in place), and engram.list / engram.numbers turn a list-valued setting such as
// `--set columns=real,buffer_10x` (the string "real,buffer_10x") into a table.
#pragma once

#include <lua.hpp>

namespace engram::lua {

// Adds to the table on top of the stack:
//   engram.settings{"name", ...} -> config: the global `config` table (an empty table when there
//     is none) after checking that each of its keys is one of the names. An unknown key is an
//     error that names it, suggests the closest name and lists the ones the script takes.
//   engram.list(value, default) -> {strings}: value (or default when value is nil) split at
//     commas and white space; empty items are dropped. value and default must be strings or
//     numbers.
//   engram.numbers(value, default) -> {numbers}: the same items, each converted to a number;
//     integral values become integers ("1e5" -> 100000). An item that is not a number is an
//     error naming it.
//   engram.integer(value, default) -> integer: value (or default when value is nil) as an
//     integer; "1e3" and 1000.0 give 1000. Anything else ("500x", 2.5, true) is an error naming it.
//   engram.number(value, default) -> number: the same for any finite or infinite number.
//   engram.boolean(value, default) -> boolean: value (or default when value is nil) as a
//     boolean: true, "true", "yes", "1", 1 or false, "false", "no", "0", 0. Anything else
//     ("maybe", 2) is an error naming it.
void open_config_values(lua_State* L);

}  // namespace engram::lua
