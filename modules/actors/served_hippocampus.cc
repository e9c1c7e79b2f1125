#include "modules/actors/served_hippocampus.h"

#include <random>
#include <sstream>

#include "modules/actors/hippocampus_actor.h"
#include "modules/actors/messages.h"
#include "runtime/log.h"

namespace engram {

Expected<std::unique_ptr<ActorBehavior>> adopt_hippocampus(const Message& msg) {
  if (msg.payloads.size() != 2 || msg.header.payloads.size() != 2 ||
      msg.header.payloads[0].dtype != DType::u8 || msg.header.payloads[1].dtype != DType::u8) {
    return Status(ErrorCode::malformed,
                  "adopt: expected two u8 payloads (code buffer, sampler state)");
  }
  const auto* bytes = static_cast<const uint8_t*>(msg.payloads[0].data());
  auto buffer = CodeBuffer::deserialize(bytes, msg.payloads[0].size());
  if (!buffer.ok()) return Status(buffer.status().code(), "adopt: " + buffer.status().message());
  std::istringstream in(msg.payloads[1].to_string());
  std::mt19937_64 sampler;
  in >> sampler;
  if (in.fail()) return Status(ErrorCode::malformed, "adopt: the sampler state is not mt19937_64");
  log_info("hippocampus", "adopted a driver's state: " + std::to_string(buffer->size()) +
                              " codes stored, budget " +
                              std::to_string(buffer->config().budget_bytes) + " bytes");
  return std::unique_ptr<ActorBehavior>(
      std::make_unique<HippocampusActor>(std::move(*buffer), sampler));
}

Message hippocampus_adopt_message(const CodeBuffer& buffer, const std::mt19937_64& sampler) {
  Message adopt;
  adopt.header.type = msg::kAdopt;
  const std::vector<uint8_t> bytes = buffer.serialize();
  std::ostringstream rng;
  rng << sampler;
  const std::string rng_text = rng.str();
  add_payload(adopt, {DType::u8, {static_cast<int64_t>(bytes.size())}},
              make_payload_copy(bytes.data(), bytes.size()));
  add_payload(adopt, {DType::u8, {static_cast<int64_t>(rng_text.size())}},
              make_payload_copy(rng_text.data(), rng_text.size()));
  return adopt;
}

ServedModuleSpec served_hippocampus_spec() {
  ServedModuleSpec spec;
  spec.name = "hippocampus";
  spec.adopt = adopt_hippocampus;
  return spec;
}

}  // namespace engram
