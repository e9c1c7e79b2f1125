#include "modules/session/agent_config.h"

#include <nlohmann/json.hpp>

#include <initializer_list>
#include <limits>
#include <type_traits>

#include "modules/session/json_integer.h"

namespace engram {
namespace {

using nlohmann::json;

// Thrown inside the parser, turned into a Status at its edge.
struct ConfigError {
  ErrorCode code;
  std::string message;
};

[[noreturn]] void fail(ErrorCode code, const std::string& message) {
  throw ConfigError{code, "agent config: " + message};
}

void check_keys(const json& j, const std::string& what, std::initializer_list<const char*> keys) {
  if (!j.is_object()) fail(ErrorCode::malformed, what + " must be an object");
  for (const auto& item : j.items()) {
    bool known = false;
    for (const char* k : keys) known = known || item.key() == k;
    if (!known) fail(ErrorCode::invalid_argument, "unknown key '" + what + "." + item.key() + "'");
  }
}

// Reads j[key] as an integer in [min, max] when present; the range is checked on the JSON
// number, before it is narrowed to T.
template <typename T>
void opt_int(const json& j, const std::string& what, const char* key, T& out,
             std::common_type_t<T> min, std::common_type_t<T> max) {
  auto it = j.find(key);
  if (it == j.end()) return;
  Expected<T> v = json_integer<T>(*it, what + "." + key, min, max);
  if (!v.ok()) fail(v.status().code(), v.status().message());
  out = *v;
}

void opt_number(const json& j, const std::string& what, const char* key, double& out) {
  auto it = j.find(key);
  if (it == j.end()) return;
  if (!it->is_number()) fail(ErrorCode::malformed, what + "." + key + " must be a number");
  out = it->get<double>();
}

void opt_string(const json& j, const std::string& what, const char* key, std::string& out) {
  auto it = j.find(key);
  if (it == j.end()) return;
  if (!it->is_string()) fail(ErrorCode::malformed, what + "." + key + " must be a string");
  out = it->get<std::string>();
}

void opt_int_list(const json& j, const std::string& what, const char* key, std::vector<int>& out) {
  auto it = j.find(key);
  if (it == j.end()) return;
  const std::string name = what + "." + key;
  if (!it->is_array() || it->empty()) {
    fail(ErrorCode::malformed, name + " must be a non-empty list of widths");
  }
  std::vector<int> v;
  for (const json& e : *it) {
    Expected<int> width =
        json_integer<int>(e, name + "[" + std::to_string(v.size()) + "]", 1, 1 << 20);
    if (!width.ok()) fail(width.status().code(), width.status().message());
    v.push_back(*width);
  }
  out = std::move(v);
}

AgentConfig parse(const json& j) {
  check_keys(j, "config",
             {"name", "input", "classes", "tasks", "seed", "threads", "device", "neocortex",
              "memory", "learning"});
  AgentConfig c;
  opt_string(j, "config", "name", c.name);
  if (auto in = j.find("input"); in != j.end()) {
    check_keys(*in, "input", {"rows", "cols"});
    opt_int(*in, "input", "rows", c.rows, 1, 4096);
    opt_int(*in, "input", "cols", c.cols, 1, 4096);
  }
  opt_int(j, "config", "classes", c.classes, 2, 65536);
  SessionConfig& s = c.session;
  opt_int(j, "config", "tasks", s.num_tasks, 1, 65536);
  opt_int(j, "config", "seed", s.seed, 0, std::numeric_limits<int64_t>::max());
  opt_int(j, "config", "threads", s.threads, 1, 256);
  std::string device = "cpu";
  opt_string(j, "config", "device", device);
  s.neocortex.device = device;
  s.memory.dvae.device = device;
  if (auto n = j.find("neocortex"); n != j.end()) {
    check_keys(*n, "neocortex", {"net", "hidden", "lr"});
    opt_string(*n, "neocortex", "net", s.neocortex.classifier.net);
    opt_int_list(*n, "neocortex", "hidden", s.neocortex.classifier.hidden);
    opt_number(*n, "neocortex", "lr", s.neocortex.lr);
  }
  if (auto m = j.find("memory"); m != j.end()) {
    const std::string w = "memory";
    check_keys(*m, w,
               {"kind", "budget_bytes", "selector", "c", "l", "arch", "hidden", "kl_weight",
                "distill_weight", "lr", "tau"});
    opt_string(*m, w, "kind", s.memory.kind);
    opt_int(*m, w, "budget_bytes", s.memory.budget_bytes, 1, 1LL << 40);
    std::string selector = selector_name(s.memory.selector);
    opt_string(*m, w, "selector", selector);
    auto parsed = parse_selector(selector);
    if (!parsed.ok()) fail(ErrorCode::invalid_argument, parsed.status().message());
    s.memory.selector = *parsed;
    DiscreteVaeConfig& v = s.memory.dvae;
    opt_int(*m, w, "c", v.c, 1, 65536);
    opt_int(*m, w, "l", v.l, 2, 65536);
    opt_string(*m, w, "arch", v.arch);
    opt_int_list(*m, w, "hidden", v.hidden);
    opt_number(*m, w, "kl_weight", v.kl_weight);
    opt_number(*m, w, "distill_weight", v.distill_weight);
    opt_number(*m, w, "lr", v.lr);
    opt_number(*m, w, "tau", v.tau);
  }
  if (auto l = j.find("learning"); l != j.end()) {
    check_keys(*l, "learning", {"batch", "replay", "queue", "predict_refresh_ms"});
    opt_int(*l, "learning", "batch", c.learning.batch, 1, 65536);
    opt_int(*l, "learning", "replay", c.learning.replay, 0, 65536);
    opt_int(*l, "learning", "queue", c.learning.queue, 1, 1 << 24);
    opt_int(*l, "learning", "predict_refresh_ms", c.learning.predict_refresh_ms, 0, 3600000);
  }
  const uint64_t pixels = static_cast<uint64_t>(c.rows) * static_cast<uint64_t>(c.cols);
  if (pixels * c.learning.queue > (1ULL << 30)) {
    fail(ErrorCode::invalid_argument,
         "learning.queue * rows * cols must be <= 2^30 floats (the queue is preallocated)");
  }
  if (static_cast<size_t>(c.learning.batch) > c.learning.queue) {
    fail(ErrorCode::invalid_argument, "learning.batch must be <= learning.queue");
  }
  return c;
}

}  // namespace

Expected<AgentConfig> agent_config_from_json(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status(ErrorCode::malformed, "agent config: not valid JSON");
  try {
    return parse(j);
  } catch (const ConfigError& e) {
    return Status(e.code, e.message);
  } catch (const json::exception& e) {
    return Status(ErrorCode::malformed, std::string("agent config: ") + e.what());
  }
}

std::string agent_config_to_json(const AgentConfig& c) {
  const SessionConfig& s = c.session;
  const DiscreteVaeConfig& v = s.memory.dvae;
  json j = {{"name", c.name},
            {"input", {{"rows", c.rows}, {"cols", c.cols}}},
            {"classes", c.classes},
            {"tasks", s.num_tasks},
            {"seed", s.seed},
            {"threads", s.threads},
            {"device", s.neocortex.device},
            {"neocortex",
             {{"net", s.neocortex.classifier.net},
              {"hidden", s.neocortex.classifier.hidden},
              {"lr", s.neocortex.lr}}},
            {"memory",
             {{"kind", s.memory.kind},
              {"budget_bytes", s.memory.budget_bytes},
              {"selector", selector_name(s.memory.selector)},
              {"c", v.c},
              {"l", v.l},
              {"arch", v.arch},
              {"hidden", v.hidden},
              {"kl_weight", v.kl_weight},
              {"distill_weight", v.distill_weight},
              {"lr", v.lr},
              {"tau", v.tau}}},
            {"learning",
             {{"batch", c.learning.batch},
              {"replay", c.learning.replay},
              {"queue", c.learning.queue},
              {"predict_refresh_ms", c.learning.predict_refresh_ms}}}};
  return j.dump();
}

}  // namespace engram
