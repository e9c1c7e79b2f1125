#include "modules/actors/module_relay.h"

#include "modules/actors/messages.h"

#include <chrono>

namespace engram {

ModuleRelay::ModuleRelay(std::map<std::string, std::vector<std::string>> links, int link_attempts)
    : links_(std::move(links)), link_attempts_(link_attempts) {}

Status ModuleRelay::start(ActorContext& ctx) {
  inbox_ = ctx.add_socket(zmq::socket_type::router, true);
  if (Status s = ctx.bind(inbox_, ctx.own_endpoint()); !s.ok()) return s;
  for (const auto& [module, peers] : links_) {
    const SocketId link = ctx.add_socket(zmq::socket_type::dealer, false);
    if (Status s = ctx.connect(link, ctx.endpoint_of(module)); !s.ok()) {
      return Status(s.code(), "link to " + module + ": " + s.message());
    }
    link_of_[module] = link;
    module_of_link_[link] = module;
    for (const std::string& peer : peers) {
      const bool push = peer == "driver";
      const SocketId id =
          ctx.add_socket(push ? zmq::socket_type::push : zmq::socket_type::dealer, false);
      if (Status s = ctx.connect(id, ctx.endpoint_of(peer)); !s.ok()) {
        return Status(s.code(), module + " -> " + peer + ": " + s.message());
      }
      peer_socket_[{module, peer}] = id;
      route_of_[id] = Route{module, peer};
    }
  }
  return Status();
}

Status ModuleRelay::open_links(ActorContext& ctx) {
  for (const auto& [module, link] : link_of_) {
    zmq::socket_t& socket = ctx.socket(link);
    const std::string endpoint = ctx.endpoint_of(module);
    bool writable = false;
    for (int attempt = 0; attempt < link_attempts_ && !writable; ++attempt) {
      if (attempt > 0) {  // a fresh connection (and queue) to the module
        try {
          socket.disconnect(endpoint);
        } catch (const zmq::error_t&) {
        }
        if (Status s = ctx.connect(link, endpoint); !s.ok()) return s;
      }
      zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLOUT, 0};
      writable = zmq::poll(&item, 1, std::chrono::milliseconds(1000)) > 0;
      if (ctx.stop_requested()) return Status(ErrorCode::closed, "relay stopping");
    }
    if (!writable) {
      return Status(ErrorCode::io_error,
                    "the relay's link to " + module + " at " + endpoint + " takes no message");
    }
    Message hello;
    hello.header.type = msg::kLink;
    if (Status s = ctx.send(link, std::move(hello)); !s.ok()) return s;
  }
  return Status();
}

Status ModuleRelay::on_message(ActorContext& ctx, SocketId from,
                               std::optional<std::string> routing_id, Message&& msg) {
  if (from == inbox_) {
    Message reply;
    reply.header.type = msg::kDone;
    Status opened = msg.header.type == msg::kLink
                        ? open_links(ctx)
                        : Status(ErrorCode::invalid_argument,
                                 "relay: unknown request '" + msg.header.type + "'");
    if (!opened.ok()) {
      reply.header.type = msg::kError;
      reply.header.strings["error"] = opened.message();
    }
    Status sent = ctx.send_to(inbox_, routing_id.value_or(""), std::move(reply));
    return opened.ok() ? sent : opened;
  }
  if (auto module = module_of_link_.find(from); module != module_of_link_.end()) {
    auto tag = msg.header.strings.find(msg::kRelayKey);
    if (tag == msg.header.strings.end()) {
      return Status(ErrorCode::malformed, module->second + " sent '" + msg.header.type +
                                              "' over the relay link without a peer");
    }
    auto socket = peer_socket_.find({module->second, tag->second});
    if (socket == peer_socket_.end()) {
      return Status(ErrorCode::invalid_argument,
                    module->second + " asked to reach '" + tag->second + "', not one of its peers");
    }
    msg.header.strings.erase(tag);
    ++relayed_;
    return ctx.send(socket->second, std::move(msg));
  }
  auto route = route_of_.find(from);
  if (route == route_of_.end()) return Status(ErrorCode::internal, "relay: an unknown socket");
  msg.header.strings[msg::kRelayKey] = route->second.peer;
  ++relayed_;
  return ctx.send(link_of_.at(route->second.module), std::move(msg));
}

}  // namespace engram
