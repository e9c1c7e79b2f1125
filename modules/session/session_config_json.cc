#include "modules/session/session_config_json.h"

#include <nlohmann/json.hpp>

#include <string>
#include <type_traits>
#include <vector>

#include "modules/session/json_integer.h"

namespace engram {
namespace {

using nlohmann::json;

json to_json(const LearnerConfig& c) {
  return {{"net", c.classifier.net},
          {"hidden", c.classifier.hidden},
          {"rows", c.classifier.rows},
          {"cols", c.classifier.cols},
          {"classes", c.classifier.classes},
          {"lr", c.lr},
          {"seed", c.seed},
          {"device", c.device}};
}

json to_json(const DiscreteVaeConfig& c) {
  return {{"c", c.c},
          {"l", c.l},
          {"arch", c.arch},
          {"hidden", c.hidden},
          {"rows", c.rows},
          {"cols", c.cols},
          {"tau", c.tau},
          {"kl_weight", c.kl_weight},
          {"distill_weight", c.distill_weight},
          {"lr", c.lr},
          {"seed", c.seed},
          {"device", c.device}};
}

// An integer field whose value its type cannot hold (thrown by get, caught below).
struct FieldError {
  std::string message;
};

// json_integer for field `name`, throwing FieldError.
template <typename T>
T integer(const json& value, const std::string& name) {
  Expected<T> v = json_integer<T>(value, name);
  if (!v.ok()) throw FieldError{v.status().message()};
  return *v;
}

// Reads j[key] into out; throws json::exception (caught below) on a missing key or wrong type.
// Integers, alone or in lists, are range-checked before they are narrowed to out's type (a
// num_tasks of 2^40 must not arrive as 0), and errors name them as `what`.key.
template <typename T>
void get(const json& j, const char* what, const char* key, T& out) {
  const std::string name = *what ? std::string(what) + "." + key : std::string(key);
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    out = integer<T>(j.at(key), name);
  } else if constexpr (std::is_same_v<T, std::vector<int>>) {
    const json& list = j.at(key);
    if (!list.is_array()) throw FieldError{name + " must be a list of integers"};
    out.clear();
    for (const json& e : list) {
      out.push_back(integer<int>(e, name + "[" + std::to_string(out.size()) + "]"));
    }
  } else {
    out = j.at(key).get<T>();
  }
}

}  // namespace

std::string session_config_to_json(const SessionConfig& c) {
  json j = {{"format", 1},
            {"num_tasks", c.num_tasks},
            {"seed", c.seed},
            {"threads", c.threads},
            {"endpoints", c.endpoints},
            {"neocortex", to_json(c.neocortex)},
            {"memory",
             {{"kind", c.memory.kind},
              {"budget_bytes", c.memory.budget_bytes},
              {"selector", selector_name(c.memory.selector)},
              {"dvae", to_json(c.memory.dvae)}}}};
  return j.dump();
}

Expected<SessionConfig> session_config_from_json(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Status(ErrorCode::malformed, "config: not a JSON object");
  }
  SessionConfig c;
  std::string selector;
  try {
    if (integer<int>(j.at("format"), "format") != 1) {
      return Status(ErrorCode::unsupported_version, "config: unknown format");
    }
    get(j, "", "num_tasks", c.num_tasks);
    get(j, "", "seed", c.seed);
    get(j, "", "threads", c.threads);
    get(j, "", "endpoints", c.endpoints);
    const json& n = j.at("neocortex");
    get(n, "neocortex", "net", c.neocortex.classifier.net);
    get(n, "neocortex", "hidden", c.neocortex.classifier.hidden);
    get(n, "neocortex", "rows", c.neocortex.classifier.rows);
    get(n, "neocortex", "cols", c.neocortex.classifier.cols);
    get(n, "neocortex", "classes", c.neocortex.classifier.classes);
    get(n, "neocortex", "lr", c.neocortex.lr);
    get(n, "neocortex", "seed", c.neocortex.seed);
    get(n, "neocortex", "device", c.neocortex.device);
    const json& m = j.at("memory");
    get(m, "memory", "kind", c.memory.kind);
    get(m, "memory", "budget_bytes", c.memory.budget_bytes);
    get(m, "memory", "selector", selector);
    const json& v = m.at("dvae");
    DiscreteVaeConfig& d = c.memory.dvae;
    get(v, "memory.dvae", "c", d.c);
    get(v, "memory.dvae", "l", d.l);
    get(v, "memory.dvae", "arch", d.arch);
    get(v, "memory.dvae", "hidden", d.hidden);
    get(v, "memory.dvae", "rows", d.rows);
    get(v, "memory.dvae", "cols", d.cols);
    get(v, "memory.dvae", "tau", d.tau);
    get(v, "memory.dvae", "kl_weight", d.kl_weight);
    get(v, "memory.dvae", "distill_weight", d.distill_weight);
    get(v, "memory.dvae", "lr", d.lr);
    get(v, "memory.dvae", "seed", d.seed);
    get(v, "memory.dvae", "device", d.device);
  } catch (const nlohmann::json::exception& e) {
    return Status(ErrorCode::malformed, std::string("config: ") + e.what());
  } catch (const FieldError& e) {
    return Status(ErrorCode::malformed, "config: " + e.message);
  }
  auto parsed = parse_selector(selector);
  if (!parsed.ok()) return parsed.status();
  c.memory.selector = *parsed;
  return c;
}

}  // namespace engram
