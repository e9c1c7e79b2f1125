// Reading configuration tables passed from Lua scripts, with errors that name the field.
#pragma once

#include <lua.hpp>

#include <initializer_list>
#include <string>
#include <vector>

#include "runtime/status.h"

namespace engram::lua {

// Raises a Lua error unless every key of the table at `index` is one of `allowed` (catches
// typos such as `iteration = 2000`). `what` names the table in the message, which also suggests
// the closest allowed name and lists them all.
void check_keys(lua_State* L, int index, const char* what,
                std::initializer_list<const char*> allowed);

// The first key of the table at `index` that is not one of `allowed` ("" when every key is).
// Raises a Lua error naming `what` when a key is not a string.
std::string unknown_key(lua_State* L, int index, const char* what,
                        const std::vector<std::string>& allowed);

// " (did you mean 'NAME'?)" for the name of `allowed` closest to the unknown `key` by edit
// distance, if within two edits; "" otherwise.
std::string did_you_mean(const std::string& key, const std::vector<std::string>& allowed);

// `allowed` joined with ", ", for listing the known names in a message.
std::string join_names(const std::vector<std::string>& allowed);

// Field readers for the table at `index`: the default when the field is nil, a Lua error naming
// `what.field` when it has the wrong type or range.
double opt_number(lua_State* L, int index, const char* what, const char* field, double fallback);
long long opt_integer(lua_State* L, int index, const char* what, const char* field,
                      long long fallback, long long min, long long max);
std::string opt_string(lua_State* L, int index, const char* what, const char* field,
                       const std::string& fallback);
bool opt_boolean(lua_State* L, int index, const char* what, const char* field, bool fallback);
std::vector<int> opt_int_list(lua_State* L, int index, const char* what, const char* field,
                              const std::vector<int>& fallback);

// Pushes the field's value when it is a table and returns true; false (nothing pushed) when nil.
bool push_subtable(lua_State* L, int index, const char* what, const char* field);

// Sets field k of the table on top of the stack.
void set_int(lua_State* L, const char* k, long long v);
void set_number(lua_State* L, const char* k, double v);

// Raises a Lua error carrying the status message (never returns; typed int for `return raise()`).
int raise(lua_State* L, const Status& s);

// Pushes a Lua array of numbers.
void push_number_list(lua_State* L, const std::vector<double>& values);
void push_integer_list(lua_State* L, const std::vector<long long>& values);

}  // namespace engram::lua
