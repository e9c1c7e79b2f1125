// Settings declared once: each configurable option is one `Setting` (name, type, range,
// default, one line of documentation). Every reader (Lua tables, the C API's JSON, the
// configuration section of snapshots) goes through apply_settings(), so they cannot drift apart,
// and the option tables of the README are generated from the same declarations
// (`engram config --list`).
//
// Values travel as JSON (nlohmann::json): a Lua table is converted first (bindings/lua/lua_json),
// the C API's configuration already is JSON. Torch-free.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "runtime/status.h"

namespace engram {

enum class SettingType {
  integer,       // a whole number in [min, max]
  number,        // a finite number in [min, max]
  boolean,       // true / false
  string,        // any text
  choice,        // one of `choices`
  integer_list,  // a non-empty list of whole numbers, each in [min, max]
  table,         // a nested table of options declared by their own list (read by the caller);
                 // apply_settings only checks that it is an object (absent: {})
};

struct Setting {
  std::string name;  // the key, e.g. "budget_bytes"
  SettingType type = SettingType::number;
  nlohmann::json fallback;  // the default; null = required
  std::string doc;          // one line, for `engram config --list` and the README
  // integer, number, integer_list (inclusive). For integers a bound of -2^63 / 2^63 (what
  // INT64_MIN / INT64_MAX become as a double) stands for the int64 limits and 2^64 for
  // UINT64_MAX; integer ranges are compared exactly, never through a double.
  double min = 0, max = 0;
  std::vector<std::string> choices{};  // choice ({}: no -Wmissing-field-initializers when omitted)
};

// Checks `input` (a JSON object, or null = empty) against `declared`: every key must be declared,
// every value of the declared type and in range. Returns an object with every declared key,
// defaults filled in for the absent ones; integers come back as JSON integers (5.0 -> 5), numbers
// as doubles. Errors name `where`.key (or key when `where` is empty): invalid_argument for an
// unknown key (with the closest known one and the list of known ones), a value out of range or
// not among the choices, a missing required key; malformed for a wrong type (not an object, a
// string for an integer, 2.5 for an integer, NaN for a number), so the C API's codes keep their
// meaning. Integers are checked on the JSON number before any narrowing.
Expected<nlohmann::json> apply_settings(const std::vector<Setting>& declared,
                                        const nlohmann::json& input, const std::string& where);

// The declarations as a Markdown table: | option | type | default | range | description |.
std::string settings_table(const std::vector<Setting>& declared);

}  // namespace engram
