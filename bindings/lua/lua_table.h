// Reading configuration tables passed from Lua scripts, with errors that name the field.
#pragma once

#include <lua.hpp>

#include <algorithm>
#include <climits>
#include <initializer_list>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "runtime/did_you_mean.h"
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

using engram::did_you_mean;  // runtime/did_you_mean.h

// `allowed` joined with ", ", for listing the known names in a message.
std::string join_names(const std::vector<std::string>& allowed);

// The value at stack `index` as an integer in [min, max], checked before any narrowing. A Lua
// error naming `name` otherwise: "NAME must be an integer, got 2.5" (an integral float such as
// 5.0, or a string Lua reads as an integer, counts as one), "NAME must be in [MIN, MAX], got N".
long long check_integer(lua_State* L, int index, const char* name, long long min, long long max);

// [min, max] intersected with what T holds (and a lua_Integer can carry).
template <typename T>
constexpr long long int_min_for(long long min) {
  static_assert(std::is_integral_v<T>, "integer settings only");
  return std::is_signed_v<T> ? std::max<long long>(min, std::numeric_limits<T>::min())
                             : std::max<long long>(min, 0);
}
template <typename T>
constexpr long long int_max_for(long long max) {
  static_assert(std::is_integral_v<T>, "integer settings only");
  constexpr auto type_max = std::numeric_limits<T>::max();
  constexpr long long max_held = type_max > static_cast<unsigned long long>(LLONG_MAX)
                                     ? LLONG_MAX
                                     : static_cast<long long>(type_max);
  return std::min(max, max_held);
}

// check_integer narrowed to T: the range is the setting's own [min, max] (all of T by default)
// intersected with T's, so the value always fits.
template <typename T>
T check_int(lua_State* L, int index, const char* name, long long min = LLONG_MIN,
            long long max = LLONG_MAX) {
  return static_cast<T>(check_integer(L, index, name, int_min_for<T>(min), int_max_for<T>(max)));
}

// Field readers for the table at `index`: the default when the field is nil, a Lua error naming
// `what.field` when it has the wrong type or range.
double opt_number(lua_State* L, int index, const char* what, const char* field, double fallback);
long long opt_integer(lua_State* L, int index, const char* what, const char* field,
                      long long fallback, long long min, long long max);
// opt_integer narrowed to T, with [min, max] intersected with T's range as in check_int: the
// one way to read an integer setting from a table.
template <typename T>
T opt_int(lua_State* L, int index, const char* what, const char* field, T fallback,
          long long min = LLONG_MIN, long long max = LLONG_MAX) {
  return static_cast<T>(opt_integer(L, index, what, field, static_cast<long long>(fallback),
                                    int_min_for<T>(min), int_max_for<T>(max)));
}
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
