#include "modules/session/agent_config.h"

#include <nlohmann/json.hpp>

#include "modules/session/session_settings.h"

namespace engram {
namespace {

using nlohmann::json;

// The status with "agent config: " before its message.
Status agent_error(const Status& s) { return Status(s.code(), "agent config: " + s.message()); }

Expected<AgentConfig> parse(const std::string& text, bool stored) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status(ErrorCode::malformed, "agent config: not valid JSON");
  AgentConfig c;
  json top;
  auto session = session_config_from_settings(j, "", agent_settings(), &top, stored);
  if (!session.ok()) return agent_error(session.status());
  c.session = std::move(*session);
  c.name = top.at("name").get<std::string>();
  c.classes = top.at("classes").get<int>();
  auto input = apply_settings(agent_input_settings(), top.at("input"), "input");
  if (!input.ok()) return agent_error(input.status());
  c.rows = input->at("rows").get<int>();
  c.cols = input->at("cols").get<int>();
  // `replay` is a number or a replay table: replay_options_from_json reads it.
  json learning_in = top.at("learning");
  json replay = json(c.learning.replay.per_batch);
  if (auto r = learning_in.find("replay"); r != learning_in.end()) {
    replay = *r;
    learning_in.erase(r);
  }
  auto learning = apply_settings(agent_learning_settings(), learning_in, "learning");
  if (!learning.ok()) return agent_error(learning.status());
  c.learning.batch = learning->at("batch").get<int>();
  c.learning.queue = learning->at("queue").get<size_t>();
  c.learning.predict_refresh_ms = learning->at("predict_refresh_ms").get<int>();
  auto options = replay_options_from_json(replay, "learning.replay");
  if (!options.ok()) return agent_error(options.status());
  c.learning.replay = *options;
  const uint64_t pixels = static_cast<uint64_t>(c.rows) * static_cast<uint64_t>(c.cols);
  if (pixels * c.learning.queue > (1ULL << 30)) {
    return Status(ErrorCode::invalid_argument,
                  "agent config: learning.queue * rows * cols must be <= 2^30 floats (the queue "
                  "is preallocated)");
  }
  if (static_cast<size_t>(c.learning.batch) > c.learning.queue) {
    return Status(ErrorCode::invalid_argument,
                  "agent config: learning.batch must be <= learning.queue");
  }
  return c;
}

}  // namespace

Expected<AgentConfig> agent_config_from_json(const std::string& text) { return parse(text, false); }

Expected<AgentConfig> agent_config_from_stored_json(const std::string& text) {
  return parse(text, true);
}

std::string agent_config_to_json(const AgentConfig& c) {
  json j = session_config_to_settings(c.session);
  j["name"] = c.name;
  j["input"] = {{"rows", c.rows}, {"cols", c.cols}};
  j["classes"] = c.classes;
  j["learning"] = {{"batch", c.learning.batch},
                   {"replay", replay_options_to_json(c.learning.replay)},
                   {"queue", c.learning.queue},
                   {"predict_refresh_ms", c.learning.predict_refresh_ms}};
  return j.dump();
}

}  // namespace engram
