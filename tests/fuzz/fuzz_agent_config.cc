// libFuzzer target for the C API's JSON configuration (engram_open_json's parser,
// agent_config_from_json). The input is the configuration text; no agent is opened. Contract:
// any text gives a configuration or an error Status (malformed / invalid_argument with a
// message), never a crash, an uncaught exception, a hang or a sanitizer report; an accepted
// configuration is within the documented ranges, and agent_config_to_json() of it reads back
// to the same configuration (what snapshots rely on). Run with `make fuzz`.
#include <cstddef>
#include <cstdint>
#include <string>

#include "modules/memory/memory_registry.h"
#include "modules/session/agent_config.h"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  engram::Expected<engram::AgentConfig> parsed = engram::agent_config_from_json(text);
  if (!parsed.ok()) {
    const engram::ErrorCode code = parsed.status().code();
    check(code == engram::ErrorCode::malformed || code == engram::ErrorCode::invalid_argument);
    check(!parsed.status().message().empty());
    return 0;
  }
  const engram::AgentConfig& c = *parsed;
  check(c.rows >= 1 && c.rows <= 4096 && c.cols >= 1 && c.cols <= 4096);
  check(c.classes >= 2 && c.classes <= 65536);
  check(c.learning.batch >= 1 && static_cast<size_t>(c.learning.batch) <= c.learning.queue);
  check(c.learning.replay.per_batch >= 0 && c.learning.predict_refresh_ms >= 0);
  check(static_cast<uint64_t>(c.rows) * static_cast<uint64_t>(c.cols) * c.learning.queue <=
        (uint64_t{1} << 30));
  check(c.session.num_tasks >= 1 && c.session.threads >= 1);
  for (int h : c.session.neocortex.classifier.hidden) check(h >= 1);
  // The kind's options: every declared one present and within its declared range.
  engram::Expected<const engram::MemoryKind*> kind =
      engram::find_memory_kind(c.session.memory.kind);
  check(kind.ok());
  for (const engram::Setting& s : (*kind)->settings()) {
    check(c.session.memory.options.contains(s.name));
    const nlohmann::json& v = c.session.memory.options.at(s.name);
    if (s.type == engram::SettingType::number) {
      check(v.get<double>() >= s.min && v.get<double>() <= s.max);
    } else if (s.type == engram::SettingType::integer) {
      check(v.is_number_integer() && v.get<double>() >= s.min && v.get<double>() <= s.max);
    } else if (s.type == engram::SettingType::integer_list) {
      for (const nlohmann::json& e : v) check(e.get<double>() >= s.min && e.get<double>() <= s.max);
    }
  }

  const std::string json = engram::agent_config_to_json(c);
  engram::Expected<engram::AgentConfig> back = engram::agent_config_from_json(json);
  check(back.ok());
  check(engram::agent_config_to_json(*back) == json);
  return 0;
}
