#include "modules/session/session_config_json.h"

#include <nlohmann/json.hpp>

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

// Reads j[key] into out; throws json::exception (caught below) on a missing key or wrong type.
template <typename T>
void get(const json& j, const char* key, T& out) {
  out = j.at(key).get<T>();
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
    if (j.at("format").get<int>() != 1) {
      return Status(ErrorCode::unsupported_version, "config: unknown format");
    }
    get(j, "num_tasks", c.num_tasks);
    get(j, "seed", c.seed);
    get(j, "threads", c.threads);
    get(j, "endpoints", c.endpoints);
    const json& n = j.at("neocortex");
    get(n, "net", c.neocortex.classifier.net);
    get(n, "hidden", c.neocortex.classifier.hidden);
    get(n, "rows", c.neocortex.classifier.rows);
    get(n, "cols", c.neocortex.classifier.cols);
    get(n, "classes", c.neocortex.classifier.classes);
    get(n, "lr", c.neocortex.lr);
    get(n, "seed", c.neocortex.seed);
    get(n, "device", c.neocortex.device);
    const json& m = j.at("memory");
    get(m, "kind", c.memory.kind);
    get(m, "budget_bytes", c.memory.budget_bytes);
    get(m, "selector", selector);
    const json& v = m.at("dvae");
    DiscreteVaeConfig& d = c.memory.dvae;
    get(v, "c", d.c);
    get(v, "l", d.l);
    get(v, "arch", d.arch);
    get(v, "hidden", d.hidden);
    get(v, "rows", d.rows);
    get(v, "cols", d.cols);
    get(v, "tau", d.tau);
    get(v, "kl_weight", d.kl_weight);
    get(v, "distill_weight", d.distill_weight);
    get(v, "lr", d.lr);
    get(v, "seed", d.seed);
    get(v, "device", d.device);
  } catch (const nlohmann::json::exception& e) {
    return Status(ErrorCode::malformed, std::string("config: ") + e.what());
  }
  auto parsed = parse_selector(selector);
  if (!parsed.ok()) return parsed.status();
  c.memory.selector = *parsed;
  return c;
}

}  // namespace engram
