#include "modules/actors/served_hippocampus.h"

#include <random>
#include <sstream>

#include "modules/actors/messages.h"
#include "runtime/heartbeat_monitor.h"
#include "runtime/log.h"

namespace engram {

ServedHippocampus::ServedHippocampus(SocketOptions server_options, std::function<uint64_t()> denied)
    : server_options_(std::move(server_options)), denied_(std::move(denied)) {}

Status ServedHippocampus::start(ActorContext& ctx) {
  socket_ = ctx.add_socket(zmq::socket_type::router, true);
  if (server_options_) server_options_(ctx.socket(socket_));
  return ctx.bind(socket_, ctx.own_endpoint());
}

Status ServedHippocampus::adopt(Message& msg) {
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
  log_info(name(), "adopted a driver's state: " + std::to_string(buffer->size()) +
                       " codes stored, budget " + std::to_string(buffer->config().budget_bytes) +
                       " bytes");
  inner_ = std::make_unique<HippocampusActor>(std::move(*buffer), sampler);
  return Status();
}

Status ServedHippocampus::on_message(ActorContext& ctx, SocketId from,
                                     std::optional<std::string> routing_id, Message&& msg) {
  const std::string& type = msg.header.type;
  const std::string peer = routing_id.value_or("");
  if (type != kPing && type != msg::kAdopt && inner_) {
    return inner_->on_message(ctx, from, std::move(routing_id), std::move(msg));
  }
  Message reply;
  Status failed;
  if (type == kPing) {
    const CounterSnapshot c = ctx.counters().snapshot(name());
    reply.header.type = kPong;
    reply.header.strings["module"] = name();
    auto& ints = reply.header.ints;
    ints["messages_in"] = static_cast<int64_t>(c.messages_in);
    ints["messages_out"] = static_cast<int64_t>(c.messages_out);
    ints["bytes_in"] = static_cast<int64_t>(c.bytes_in);
    ints["bytes_out"] = static_cast<int64_t>(c.bytes_out);
    ints["errors"] = static_cast<int64_t>(c.errors);
    ints["curve_denied"] = denied_ ? static_cast<int64_t>(denied_()) : 0;
    ints["adopted"] = inner_ ? 1 : 0;
  } else if (type == msg::kAdopt) {
    failed = adopt(msg);
    reply.header.type = msg::kDone;
  } else {
    failed = Status(ErrorCode::invalid_argument,
                    "'" + type + "' before any driver sent the hippocampus's state (adopt)");
  }
  if (!failed.ok()) {
    reply = Message();
    reply.header.type = msg::kError;
    reply.header.strings["error"] = "hippocampus: " + failed.message();
  }
  Status sent = ctx.send_to(from, peer, std::move(reply));
  return failed.ok() ? sent : failed;
}

}  // namespace engram
