#include "modules/actors/served_module.h"

#include "modules/actors/messages.h"
#include "runtime/heartbeat_monitor.h"
#include "runtime/log.h"

namespace engram {
namespace {

std::string peer_endpoint(const std::string& module, const std::string& peer) {
  return "inproc://served-" + module + "/peer/" + peer;
}

}  // namespace

ServedModule::ServedModule(ServedModuleSpec spec, SocketOptions server_options,
                           std::function<uint64_t()> denied)
    : spec_(std::move(spec)),
      server_options_(std::move(server_options)),
      denied_(std::move(denied)) {}

ServedModule::~ServedModule() {
  if (inner_) (void)inner_->stop();
}

Status ServedModule::start(ActorContext& ctx) {
  socket_ = ctx.add_socket(zmq::socket_type::router, true);
  if (server_options_) server_options_(ctx.socket(socket_));
  if (Status s = ctx.bind(socket_, ctx.own_endpoint()); !s.ok()) return s;
  auto bind_peer = [&](const std::string& peer, zmq::socket_type type, bool routed) {
    const SocketId id = ctx.add_socket(type, routed);
    peer_sockets_[peer] = id;
    socket_peers_[id] = peer;
    return ctx.bind(id, peer_endpoint(spec_.name, peer));
  };
  for (const std::string& peer : spec_.request_peers) {
    if (Status s = bind_peer(peer, zmq::socket_type::router, true); !s.ok()) return s;
  }
  for (const std::string& peer : spec_.push_peers) {
    if (Status s = bind_peer(peer, zmq::socket_type::pull, false); !s.ok()) return s;
  }
  return Status();
}

void ServedModule::stop(ActorContext& ctx) {
  (void)ctx;
  if (inner_) (void)inner_->stop();
}

Status ServedModule::adopt(ActorContext& ctx, const Message& msg) {
  auto built = spec_.adopt(msg);
  if (!built.ok()) return built.status();
  if ((*built)->name() != spec_.name) {
    return Status(ErrorCode::internal, "adopt built a '" + (*built)->name() + "' actor");
  }
  if (inner_) (void)inner_->stop();
  inner_.reset();
  // A fresh inbox per adoption: the DEALERs that reached the old actor are left behind.
  to_inner_.clear();
  from_inner_.clear();
  std::map<std::string, std::string> wiring;
  wiring[spec_.name] = "inproc://served-" + spec_.name + "/inbox/" + std::to_string(++generation_);
  for (const auto& [peer, id] : peer_sockets_) wiring[peer] = peer_endpoint(spec_.name, peer);
  auto actor = std::make_unique<Actor>(ctx.zmq(), std::move(*built),
                                       std::make_shared<EndpointRegistry>(wiring));
  if (Status s = actor->start(); !s.ok()) return s;
  inner_ = std::move(actor);
  return Status();
}

Status ServedModule::to_link(ActorContext& ctx, Message&& msg) {
  if (link_.empty()) {
    unlinked_.push_back(std::move(msg));
    return Status();
  }
  return ctx.send_to(socket_, link_, std::move(msg));
}

Status ServedModule::on_message(ActorContext& ctx, SocketId from,
                                std::optional<std::string> routing_id, Message&& msg) {
  if (from == socket_) return from_driver(ctx, routing_id.value_or(""), std::move(msg));
  if (auto peer = socket_peers_.find(from); peer != socket_peers_.end()) {
    // The module's actor asks (or pushes to) a peer: over the link, tagged with the peer.
    if (routing_id) peer_ids_[from] = *routing_id;
    msg.header.strings[msg::kRelayKey] = peer->second;
    return to_link(ctx, std::move(msg));
  }
  if (auto driver = from_inner_.find(from); driver != from_inner_.end()) {
    return ctx.send_to(socket_, driver->second, std::move(msg));  // the actor's reply
  }
  return Status(ErrorCode::internal, name() + ": a message on an unknown socket");
}

Status ServedModule::from_driver(ActorContext& ctx, const std::string& peer, Message&& msg) {
  const std::string& type = msg.header.type;
  if (auto relay = msg.header.strings.find(msg::kRelayKey); relay != msg.header.strings.end()) {
    // A peer's reply to the module's actor, relayed by the driver.
    const std::string target = relay->second;
    msg.header.strings.erase(relay);
    auto socket = peer_sockets_.find(target);
    if (socket == peer_sockets_.end() || !peer_ids_.count(socket->second)) {
      return Status(ErrorCode::invalid_argument,
                    name() + ": a relayed reply from '" + target + "', which it never asked");
    }
    return ctx.send_to(socket->second, peer_ids_[socket->second], std::move(msg));
  }
  if (type == msg::kLink) {
    link_ = peer;
    log_info(name(), "a driver opened the relay link");
    while (!unlinked_.empty()) {
      Message next = std::move(unlinked_.front());
      unlinked_.pop_front();
      if (Status s = ctx.send_to(socket_, link_, std::move(next)); !s.ok()) return s;
    }
    return Status();
  }
  if (type != kPing && type != msg::kAdopt && inner_) {
    auto dealer = to_inner_.find(peer);
    if (dealer == to_inner_.end()) {
      const SocketId id = ctx.add_socket(zmq::socket_type::dealer, false);
      if (Status s = ctx.connect(
              id, "inproc://served-" + spec_.name + "/inbox/" + std::to_string(generation_));
          !s.ok()) {
        return s;
      }
      dealer = to_inner_.emplace(peer, id).first;
      from_inner_[id] = peer;
    }
    return ctx.send(dealer->second, std::move(msg));
  }
  Message reply;
  Status failed;
  if (type == kPing) {
    const CounterSnapshot c = ctx.counters().snapshot(name());
    const uint64_t inner_errors = inner_ ? inner_->counters().errors : 0;
    reply.header.type = kPong;
    reply.header.strings["module"] = name();
    auto& ints = reply.header.ints;
    ints["messages_in"] = static_cast<int64_t>(c.messages_in);
    ints["messages_out"] = static_cast<int64_t>(c.messages_out);
    ints["bytes_in"] = static_cast<int64_t>(c.bytes_in);
    ints["bytes_out"] = static_cast<int64_t>(c.bytes_out);
    ints["errors"] = static_cast<int64_t>(c.errors + inner_errors);
    ints["curve_denied"] = denied_ ? static_cast<int64_t>(denied_()) : 0;
    ints["adopted"] = inner_ ? 1 : 0;
    // The module's own failures since its adoption: a driver stops on them, as it stops when
    // one of its local actors fails (ActorHost::failures).
    const uint64_t module_errors = inner_ ? inner_->counters().errors : 0;
    ints["module_errors"] = static_cast<int64_t>(module_errors);
    if (module_errors > 0) reply.header.strings["module_error"] = inner_->last_error();
  } else if (type == msg::kAdopt) {
    failed = adopt(ctx, msg);
    reply.header.type = msg::kDone;
  } else {
    failed = Status(ErrorCode::invalid_argument,
                    "'" + type + "' before any driver sent the " + name() + "'s state (adopt)");
  }
  if (!failed.ok()) {
    reply = Message();
    reply.header.type = msg::kError;
    reply.header.strings["error"] = name() + ": " + failed.message();
  }
  Status sent = ctx.send_to(socket_, peer, std::move(reply));
  return failed.ok() ? sent : failed;
}

}  // namespace engram
