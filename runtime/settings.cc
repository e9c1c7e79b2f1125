#include "runtime/settings.h"

#include "runtime/did_you_mean.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace engram {
namespace {

using nlohmann::json;
using Wide = __int128;  // holds every int64 and uint64 exactly

constexpr double kTwo63 = 9223372036854775808.0;   // exact in a double
constexpr double kTwo64 = 18446744073709551616.0;  // exact in a double

// The declared integer bounds, exactly (see Setting::min/max for the int64/uint64 conventions).
Wide integer_min(double min) {
  if (!(min > -kTwo63)) return std::numeric_limits<int64_t>::min();
  if (min >= kTwo64) return std::numeric_limits<uint64_t>::max();
  return static_cast<Wide>(std::ceil(min));
}
Wide integer_max(double max) {
  if (max >= kTwo64) return std::numeric_limits<uint64_t>::max();
  if (max == kTwo63) return std::numeric_limits<int64_t>::max();
  if (!(max > -kTwo63)) return std::numeric_limits<int64_t>::min();
  return static_cast<Wide>(std::floor(max));
}

std::string wide_text(Wide v) {
  if (v < 0) return std::to_string(static_cast<int64_t>(v));
  return std::to_string(static_cast<uint64_t>(v));
}

// The shortest text that reads back as d ("0.001", "1e-12", "1000", "nan", "inf"); whole
// numbers below 1e15 in plain digits.
std::string number_text(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  if (std::trunc(d) == d && std::fabs(d) < 1e15) return std::to_string(static_cast<int64_t>(d));
  char buf[40];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  return buf;
}

// A value as the message shows it: JSON text, except that non-finite numbers (which a Lua
// table can hold; JSON would print null) read nan / inf.
std::string value_text(const json& v) {
  if (v.is_number_float() && !std::isfinite(v.get<double>())) return number_text(v.get<double>());
  return v.dump();
}

std::string join(const std::vector<std::string>& names, const char* quote) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + (quote + n + quote);
  return out;
}

Status wrong_type(const std::string& name, const char* expected, const json& v) {
  return Status(ErrorCode::malformed, name + " must be " + expected + ", got " + value_text(v));
}

// `v` as a JSON integer in the declared range: an integral float (5.0, 1e3) counts as one.
Expected<json> check_integer(const json& v, const std::string& name, double min, double max) {
  Wide value = 0;
  if (v.is_number_unsigned()) {
    value = v.get<uint64_t>();
  } else if (v.is_number_integer()) {
    value = v.get<int64_t>();
  } else if (v.is_number_float() && std::isfinite(v.get<double>()) &&
             std::trunc(v.get<double>()) == v.get<double>()) {
    const double d = v.get<double>();
    if (d < -kTwo63 || d >= kTwo64) {
      return Status(ErrorCode::invalid_argument,
                    name + " must be in [" + wide_text(integer_min(min)) + ", " +
                        wide_text(integer_max(max)) + "], got " + number_text(d));
    }
    value = d < 0 ? static_cast<Wide>(static_cast<int64_t>(d))
                  : static_cast<Wide>(static_cast<uint64_t>(d));
  } else {
    return wrong_type(name, "an integer", v);
  }
  const Wide lo = integer_min(min), hi = integer_max(max);
  if (value < lo || value > hi) {
    return Status(ErrorCode::invalid_argument, name + " must be in [" + wide_text(lo) + ", " +
                                                   wide_text(hi) + "], got " + wide_text(value));
  }
  if (value < 0) return json(static_cast<int64_t>(value));
  if (value <= std::numeric_limits<int64_t>::max()) return json(static_cast<int64_t>(value));
  return json(static_cast<uint64_t>(value));
}

Expected<json> check_value(const Setting& s, const json& v, const std::string& name) {
  switch (s.type) {
    case SettingType::integer: return check_integer(v, name, s.min, s.max);
    case SettingType::number: {
      if (!v.is_number()) return wrong_type(name, "a number", v);
      const double d = v.get<double>();
      if (!std::isfinite(d)) return wrong_type(name, "a finite number", v);
      if (d < s.min || d > s.max) {
        return Status(ErrorCode::invalid_argument, name + " must be in [" + number_text(s.min) +
                                                       ", " + number_text(s.max) + "], got " +
                                                       number_text(d));
      }
      return json(d);
    }
    case SettingType::boolean:
      if (!v.is_boolean()) return wrong_type(name, "true or false", v);
      return v;
    case SettingType::string:
      if (!v.is_string()) return wrong_type(name, "a string", v);
      return v;
    case SettingType::choice: {
      const std::string expected = "one of " + join(s.choices, "\"");
      if (!v.is_string()) return wrong_type(name, expected.c_str(), v);
      const auto& text = v.get_ref<const std::string&>();
      if (std::find(s.choices.begin(), s.choices.end(), text) == s.choices.end()) {
        return Status(ErrorCode::invalid_argument,
                      name + " must be " + expected + ", got " + value_text(v));
      }
      return v;
    }
    case SettingType::integer_list: {
      if (!v.is_array() || v.empty()) return wrong_type(name, "a non-empty list of integers", v);
      json out = json::array();
      for (size_t i = 0; i < v.size(); ++i) {
        auto e = check_integer(v[i], name + " entry " + std::to_string(i + 1), s.min, s.max);
        if (!e.ok()) return e.status();
        out.push_back(std::move(*e));
      }
      return out;
    }
    case SettingType::table:
      if (!v.is_object()) return wrong_type(name, "a table (an object of options)", v);
      return v;
  }
  return Status(ErrorCode::internal, name + ": unknown setting type");
}

std::string type_name(const Setting& s) {
  switch (s.type) {
    case SettingType::integer: return "integer";
    case SettingType::number: return "number";
    case SettingType::boolean: return "boolean";
    case SettingType::string: return "string";
    case SettingType::choice: return "choice";
    case SettingType::integer_list: return "list of integers";
    case SettingType::table: return "table";
  }
  return "?";
}

std::string range_text(const Setting& s) {
  switch (s.type) {
    case SettingType::integer:
      return "[" + wide_text(integer_min(s.min)) + ", " + wide_text(integer_max(s.max)) + "]";
    case SettingType::integer_list:
      return "each in [" + wide_text(integer_min(s.min)) + ", " + wide_text(integer_max(s.max)) +
             "]";
    case SettingType::number: return "[" + number_text(s.min) + ", " + number_text(s.max) + "]";
    case SettingType::choice: return join(s.choices, "`");
    default: return "";
  }
}

std::string default_text(const Setting& s) {
  if (s.fallback.is_null()) return "required";
  if (s.fallback.is_number_float()) return "`" + number_text(s.fallback.get<double>()) + "`";
  return "`" + s.fallback.dump() + "`";
}

// `text` safe inside a Markdown table cell.
std::string cell(const std::string& text) {
  std::string out;
  for (char ch : text) {
    if (ch == '|') out += '\\';
    out += ch == '\n' ? ' ' : ch;
  }
  return out;
}

}  // namespace

Expected<json> apply_settings(const std::vector<Setting>& declared, const json& input,
                              const std::string& where) {
  const std::string prefix = where.empty() ? "" : where + ".";
  if (!input.is_null() && !input.is_object()) {
    return Status(ErrorCode::malformed, (where.empty() ? std::string("the configuration") : where) +
                                            " must be a table (an object of options), got " +
                                            value_text(input));
  }
  std::vector<std::string> known;
  for (const Setting& s : declared) known.push_back(s.name);
  if (input.is_object()) {
    for (const auto& item : input.items()) {
      if (std::find(known.begin(), known.end(), item.key()) != known.end()) continue;
      return Status(ErrorCode::invalid_argument, "unknown key '" + prefix + item.key() + "'" +
                                                     did_you_mean(item.key(), known) +
                                                     "; known: " + join(known, ""));
    }
  }
  json out = json::object();
  for (const Setting& s : declared) {
    const std::string name = prefix + s.name;
    const auto it = input.is_object() ? input.find(s.name) : input.end();
    if (input.is_null() || it == input.end()) {
      if (s.fallback.is_null()) {
        return Status(ErrorCode::invalid_argument, name + " is required (" + s.doc + ")");
      }
      out[s.name] = s.type == SettingType::number ? json(s.fallback.get<double>()) : s.fallback;
      continue;
    }
    auto value = check_value(s, *it, name);
    if (!value.ok()) return value.status();
    out[s.name] = std::move(*value);
  }
  return out;
}

std::string settings_table(const std::vector<Setting>& declared) {
  std::string out =
      "| option | type | default | range | description |\n"
      "|---|---|---|---|---|\n";
  for (const Setting& s : declared) {
    out += "| `" + cell(s.name) + "` | " + type_name(s) + " | " + cell(default_text(s)) + " | " +
           cell(range_text(s)) + " | " + cell(s.doc) + " |\n";
  }
  return out;
}

}  // namespace engram
