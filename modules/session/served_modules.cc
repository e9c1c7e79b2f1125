#include "modules/session/served_modules.h"

#include "modules/actors/association_actor.h"
#include "modules/actors/messages.h"
#include "modules/actors/neocortex_actor.h"
#include "modules/actors/served_hippocampus.h"
#include "modules/session/session_config_json.h"
#include "runtime/log.h"

namespace engram {
namespace {

struct Adopted {
  SessionConfig config;
  ModuleShape shape;
  std::string state;
};

Expected<Adopted> read_adopt(const Message& msg) {
  auto bad = [](const std::string& why) { return Status(ErrorCode::malformed, "adopt: " + why); };
  const auto config = msg.header.strings.find("config");
  if (config == msg.header.strings.end()) return bad("no configuration (strings: config)");
  Adopted out;
  auto parsed = session_config_from_json(config->second);
  if (!parsed.ok()) return bad(parsed.status().message());
  out.config = std::move(*parsed);
  auto dimension = [&](const char* key, int64_t max) -> Expected<int> {
    auto it = msg.header.ints.find(key);
    if (it == msg.header.ints.end() || it->second < 1 || it->second > max) {
      return bad(std::string("ints ") + key + " missing or outside [1, " + std::to_string(max) +
                 "]");
    }
    return static_cast<int>(it->second);
  };
  auto rows = dimension("rows", 1 << 14);
  auto cols = dimension("cols", 1 << 14);
  auto classes = dimension("classes", 1 << 20);
  if (!rows.ok()) return rows.status();
  if (!cols.ok()) return cols.status();
  if (!classes.ok()) return classes.status();
  out.shape.rows = *rows;
  out.shape.cols = *cols;
  out.shape.classes = *classes;
  if (msg.payloads.size() != 1 || msg.header.payloads.size() != 1 ||
      msg.header.payloads[0].dtype != DType::u8) {
    return bad("expected one u8 payload (the module's state)");
  }
  out.state = msg.payloads[0].to_string();
  return out;
}

}  // namespace

Message module_adopt_message(const SessionConfig& config, const ModuleShape& shape,
                             const std::string& state) {
  Message adopt;
  adopt.header.type = msg::kAdopt;
  adopt.header.strings["config"] = session_config_to_json(config);
  adopt.header.ints["rows"] = shape.rows;
  adopt.header.ints["cols"] = shape.cols;
  adopt.header.ints["classes"] = shape.classes;
  add_payload(adopt, {DType::u8, {static_cast<int64_t>(state.size())}},
              make_payload_copy(state.data(), state.size()));
  return adopt;
}

Expected<std::unique_ptr<ActorBehavior>> adopt_association(const Message& msg) {
  auto adopted = read_adopt(msg);
  if (!adopted.ok()) return adopted.status();
  auto modules = build_session_modules(adopted->config, adopted->shape, nullptr,
                                       adopted->state.empty() ? nullptr : &adopted->state);
  if (!modules.ok()) return Status(modules.status().code(), "adopt: " + modules.status().message());
  if (modules->association && adopted->state.empty()) {
    return Status(ErrorCode::malformed, "adopt: no state for the association of memory kind \"" +
                                            adopted->config.memory.kind + "\"");
  }
  const bool has_buffer = modules->buffer.has_value();
  log_info("association", "adopted a driver's state: memory kind " + adopted->config.memory.kind +
                              ", " + std::to_string(adopted->state.size()) + " state bytes");
  return std::unique_ptr<ActorBehavior>(std::make_unique<AssociationActor>(
      std::move(modules->association), has_buffer, adopted->config.threads));
}

Expected<std::unique_ptr<ActorBehavior>> adopt_neocortex(const Message& msg) {
  auto adopted = read_adopt(msg);
  if (!adopted.ok()) return adopted.status();
  auto modules = build_session_modules(adopted->config, adopted->shape, &adopted->state, nullptr);
  if (!modules.ok()) return Status(modules.status().code(), "adopt: " + modules.status().message());
  log_info("neocortex", "adopted a driver's state: net " +
                            adopted->config.neocortex.classifier.net + ", " +
                            std::to_string(adopted->state.size()) + " state bytes");
  return std::unique_ptr<ActorBehavior>(
      std::make_unique<NeocortexActor>(std::move(modules->learner), adopted->config.threads));
}

Expected<ServedModuleSpec> served_module_spec(const std::string& module) {
  if (module == "hippocampus") return served_hippocampus_spec();
  ServedModuleSpec spec;
  spec.name = module;
  if (module == "association") {
    spec.adopt = adopt_association;
    spec.request_peers = {"hippocampus", "neocortex"};
  } else if (module == "neocortex") {
    spec.adopt = adopt_neocortex;
    spec.push_peers = {"driver"};
  } else {
    return Status(ErrorCode::invalid_argument,
                  "unknown module \"" + module + "\" (hippocampus, association or neocortex)");
  }
  return spec;
}

}  // namespace engram
