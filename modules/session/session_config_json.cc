#include "modules/session/session_config_json.h"

#include <nlohmann/json.hpp>

#include <map>
#include <string>

#include "modules/session/json_integer.h"
#include "modules/session/session_settings.h"

namespace engram {
namespace {

using nlohmann::json;

constexpr int kFormat = 2;

// Thrown while converting format 1, turned into a Status below.
struct FieldError {
  ErrorCode code;
  std::string message;
};

const json& field(const json& j, const std::string& what, const char* key) {
  const std::string name = what.empty() ? key : what + "." + key;
  if (!j.is_object()) throw FieldError{ErrorCode::malformed, what + " must be an object"};
  auto it = j.find(key);
  if (it == j.end()) throw FieldError{ErrorCode::malformed, name + " is missing"};
  return *it;
}

// A format-1 configuration as the format-2 tree (endpoints are read apart). The fields it used
// must be present; what Session recomputes (rows, cols, classes, the derived seeds) is ignored.
json tree_from_format1(const json& j) {
  json tree = {{"tasks", field(j, "", "num_tasks")},
               {"seed", field(j, "", "seed")},
               {"threads", field(j, "", "threads")}};
  const json& n = field(j, "", "neocortex");
  tree["neocortex"] = {{"net", field(n, "neocortex", "net")},
                       {"hidden", field(n, "neocortex", "hidden")},
                       {"lr", field(n, "neocortex", "lr")}};
  tree["device"] = field(n, "neocortex", "device");
  const json& m = field(j, "", "memory");
  json memory = {{"kind", field(m, "memory", "kind")},
                 {"budget_bytes", field(m, "memory", "budget_bytes")},
                 {"selector", field(m, "memory", "selector")}};
  const json& dvae = field(m, "memory", "dvae");
  if (memory["kind"] == "dvae") {
    for (const char* key :
         {"c", "l", "arch", "hidden", "kl_weight", "distill_weight", "lr", "tau"}) {
      memory[key] = field(dvae, "memory.dvae", key);
    }
  }
  tree["memory"] = std::move(memory);
  return tree;
}

}  // namespace

std::string session_config_to_json(const SessionConfig& c) {
  json j = session_config_to_settings(c);
  j["format"] = kFormat;
  j["endpoints"] = c.endpoints;
  return j.dump();
}

Expected<SessionConfig> session_config_from_json(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Status(ErrorCode::malformed, "config: not a JSON object");
  }
  auto in_config = [](const Status& s) { return Status(s.code(), "config: " + s.message()); };
  json tree;
  std::map<std::string, std::string> endpoints;
  try {
    Expected<int64_t> format = json_integer<int64_t>(field(j, "", "format"), "format");
    if (!format.ok()) return in_config(format.status());
    const json& e = field(j, "", "endpoints");
    if (!e.is_object()) throw FieldError{ErrorCode::malformed, "endpoints must be an object"};
    for (const auto& item : e.items()) {
      if (!item.value().is_string()) {
        throw FieldError{ErrorCode::malformed, "endpoints." + item.key() + " must be a string"};
      }
      endpoints[item.key()] = item.value().get<std::string>();
    }
    if (*format == 1) {
      tree = tree_from_format1(j);
    } else if (*format == kFormat) {
      tree = j;
      tree.erase("format");
      tree.erase("endpoints");
    } else {
      return Status(
          ErrorCode::unsupported_version,
          "config: unknown format " + std::to_string(*format) + " (this version reads 1 and 2)");
    }
  } catch (const FieldError& e) {
    return Status(e.code, "config: " + e.message);
  }
  auto c = session_config_from_settings(tree, "");
  if (!c.ok()) return in_config(c.status());
  c->endpoints = std::move(endpoints);
  return c;
}

}  // namespace engram
