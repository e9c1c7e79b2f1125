// ActorContext (a behaviour's view of its actor) and EndpointRegistry (the wiring).
#include <fmt/format.h>

#include <cerrno>
#include <stdexcept>
#include <utility>

#include "runtime/actor.h"

namespace engram {
namespace {

// A ROUTER never reports POLLOUT usefully, so a full ROUTER peer is retried at this period.
constexpr std::chrono::milliseconds kRouterRetry{2};

Status zmq_status(const zmq::error_t& e, const std::string& what) {
  const ErrorCode code =
      (e.num() == EINVAL || e.num() == EPROTONOSUPPORT || e.num() == ENOCOMPATPROTO)
          ? ErrorCode::invalid_argument
          : (e.num() == ETERM ? ErrorCode::closed : ErrorCode::io_error);
  return Status(code, what + ": " + e.what());
}

}  // namespace

// ---- EndpointRegistry ----

std::string EndpointRegistry::lookup(const std::string& actor_name) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = resolved_.find(actor_name); it != resolved_.end()) return it->second;
  if (auto it = configured_.find(actor_name); it != configured_.end()) return it->second;
  return std::string();
}

std::string EndpointRegistry::configured(const std::string& actor_name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = configured_.find(actor_name);
  return it == configured_.end() ? std::string() : it->second;
}

void EndpointRegistry::configure(const std::string& actor_name, std::string endpoint) {
  std::lock_guard<std::mutex> lock(mu_);
  configured_[actor_name] = std::move(endpoint);
}

void EndpointRegistry::resolve(const std::string& actor_name, std::string endpoint) {
  std::lock_guard<std::mutex> lock(mu_);
  resolved_[actor_name] = std::move(endpoint);
}

void EndpointRegistry::clear_resolved() {
  std::lock_guard<std::mutex> lock(mu_);
  resolved_.clear();
}

void EndpointRegistry::set_connect_options(const std::string& endpoint, SocketOptions options) {
  std::lock_guard<std::mutex> lock(mu_);
  connect_options_[endpoint] = std::move(options);
}

SocketOptions EndpointRegistry::connect_options(const std::string& endpoint) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = connect_options_.find(endpoint);
  return it == connect_options_.end() ? SocketOptions() : it->second;
}

// ---- ActorContext ----

ActorContext::ActorContext(Actor& actor, zmq::context_t& zmq, zmq::socket_t& pipe)
    : actor_(actor), name_(actor.name_), zmq_(zmq), pipe_(pipe), counters_(actor.counters_) {}

ActorContext::~ActorContext() {
  // Closing a socket releases its inproc names asynchronously (ZeroMQ's reaper thread); an
  // explicit unbind releases them now, so a restarted actor can bind the same name at once.
  for (auto& entry : sockets_) {
    for (const std::string& ep : entry->bound) {
      try {
        entry->socket.unbind(ep);
      } catch (const zmq::error_t&) {
      }
    }
  }
}

SocketId ActorContext::add_socket(zmq::socket_type type, bool routed) {
  if (routed != (type == zmq::socket_type::router)) {
    throw std::invalid_argument("add_socket: `routed` must be true exactly for ROUTER sockets");
  }
  auto entry = std::make_unique<Entry>(Entry{zmq::socket_t(zmq_, type), routed, {}});
  entry->socket.set(zmq::sockopt::linger, 0);
  if (routed) entry->socket.set(zmq::sockopt::router_mandatory, 1);
  sockets_.push_back(std::move(entry));
  sockets_changed_ = true;
  return sockets_.size() - 1;
}

zmq::socket_t& ActorContext::socket(SocketId id) { return sockets_.at(id)->socket; }

Status ActorContext::bind(SocketId id, const std::string& endpoint) {
  if (endpoint.empty())
    return Status(ErrorCode::not_found, "bind: empty endpoint (unknown actor?)");
  if (id >= sockets_.size()) return Status(ErrorCode::invalid_argument, "bind: unknown socket id");
  zmq::socket_t& sock = sockets_[id]->socket;
  try {
    sock.bind(endpoint);
    std::string actual = sock.get(zmq::sockopt::last_endpoint);
    sockets_[id]->bound.push_back(actual);
    if (endpoint == actor_.endpoints_->configured(name_) && actual != endpoint) {
      actor_.endpoints_->resolve(name_, std::move(actual));
    }
  } catch (const zmq::error_t& e) {
    return zmq_status(e, "bind " + endpoint);
  }
  return Status();
}

Status ActorContext::connect(SocketId id, const std::string& endpoint) {
  if (endpoint.empty()) {
    return Status(ErrorCode::not_found, "connect: empty endpoint (unknown actor?)");
  }
  if (id >= sockets_.size()) {
    return Status(ErrorCode::invalid_argument, "connect: unknown socket id");
  }
  try {
    if (SocketOptions options = actor_.endpoints_->connect_options(endpoint)) {
      options(sockets_[id]->socket);
    }
    sockets_[id]->socket.connect(endpoint);
  } catch (const zmq::error_t& e) {
    return zmq_status(e, "connect " + endpoint);
  }
  return Status();
}

Status ActorContext::wait_readable(SocketId id, std::chrono::milliseconds timeout) {
  if (id >= sockets_.size()) {
    return Status(ErrorCode::invalid_argument, "wait_readable: unknown socket id");
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  zmq_pollitem_t items[2] = {{pipe_.handle(), 0, ZMQ_POLLIN, 0},
                             {sockets_[id]->socket.handle(), 0, ZMQ_POLLIN, 0}};
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Status(ErrorCode::timeout, "no reply in time");
    try {
      zmq::poll(items, 2, left);
      if (items[0].revents & ZMQ_POLLIN) read_pipe();
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      term_ = stop_requested_ = true;
    }
    if (term_) return Status(ErrorCode::closed, "actor stopping while awaiting a reply");
    if (items[1].revents & ZMQ_POLLIN) return Status();
  }
}

std::string ActorContext::endpoint_of(const std::string& actor_name) const {
  return actor_.endpoints_->lookup(actor_name);
}

Status ActorContext::send(SocketId id, Message&& msg) { return send_impl(id, nullptr, msg); }

Status ActorContext::send_to(SocketId id, const std::string& routing_id, Message&& msg) {
  return send_impl(id, &routing_id, msg);
}

Status ActorContext::send_impl(SocketId id, const std::string* routing_id, Message& msg) {
  Status st;
  WireStats wire;
  if (id >= sockets_.size()) {
    st = Status(ErrorCode::invalid_argument, "send: unknown socket id");
  } else if (sockets_[id]->routed != (routing_id != nullptr)) {
    st = Status(ErrorCode::invalid_argument,
                routing_id ? "send_to needs a ROUTER socket" : "a ROUTER socket needs send_to");
  } else {
    if (msg.header.source.empty()) msg.header.source = name_;
    if (msg.header.seq == 0) msg.header.seq = next_seq();
    Entry& entry = *sockets_[id];
    for (;;) {
      st = send_envelope(entry.socket, routing_id, msg, /*dont_wait=*/true, &wire);
      if (st.code() != ErrorCode::full) break;
      if (!wait_writable(entry.socket)) {
        st = Status(ErrorCode::closed, "actor stopping while the peer's queue was full");
        break;
      }
    }
  }
  if (st.ok()) {
    bump(counters_.messages_out);
    bump(counters_.bytes_out, wire.bytes);
  } else {
    actor_.record_drop(fmt::format("send on socket {} failed: {}", id, st.to_string()));
  }
  return st;
}

bool ActorContext::wait_writable(zmq::socket_t& sock) {
  const bool router = sock.get(zmq::sockopt::type) == ZMQ_ROUTER;
  zmq_pollitem_t items[2] = {{pipe_.handle(), 0, ZMQ_POLLIN, 0},
                             {sock.handle(), 0, ZMQ_POLLOUT, 0}};
  try {
    zmq::poll(items, router ? 1 : 2, router ? kRouterRetry : std::chrono::milliseconds(100));
    if (items[0].revents & ZMQ_POLLIN) read_pipe();
  } catch (const zmq::error_t& e) {
    if (e.num() != EINTR) term_ = stop_requested_ = true;
  }
  return !term_;
}

void ActorContext::read_pipe() {
  std::vector<std::string> cmd = Actor::recv_command(pipe_, zmq::recv_flags::dontwait);
  if (!cmd.empty() && cmd[0] == Actor::kTermCommand) term_ = stop_requested_ = true;
}

}  // namespace engram
