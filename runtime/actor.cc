// Actor: the thread, its handshake and its poll loop. ActorContext lives in actor_context.cc.
#include "runtime/actor.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <stdexcept>
#include <utility>

namespace engram {
namespace {

constexpr const char* kReady = "$READY";
constexpr const char* kError = "$ERROR";
// Envelopes read from one socket per wake-up: bounds the $TERM latency and keeps sockets fair.
constexpr size_t kBatch = 64;

std::string pipe_endpoint() {
  static std::atomic<uint64_t> counter{0};
  return fmt::format("inproc://engram-actor-pipe-{}", counter.fetch_add(1));
}

}  // namespace

std::vector<std::string> Actor::recv_command(zmq::socket_t& pipe, zmq::recv_flags flags) {
  std::vector<std::string> out;
  zmq::message_t part;
  if (!pipe.recv(part, flags)) return out;
  out.push_back(part.to_string());
  while (part.more()) {
    if (!pipe.recv(part, zmq::recv_flags::none)) break;
    out.push_back(part.to_string());
  }
  return out;
}

Actor::Actor(zmq::context_t& zmq, std::unique_ptr<ActorBehavior> behavior,
             std::shared_ptr<EndpointRegistry> endpoints)
    : zmq_(zmq),
      behavior_(std::move(behavior)),
      endpoints_(endpoints ? std::move(endpoints) : std::make_shared<EndpointRegistry>()),
      name_(behavior_ ? behavior_->name() : std::string()) {}

Actor::~Actor() { (void)stop(); }

std::string Actor::last_error() const {
  std::lock_guard<std::mutex> lock(error_mu_);
  return last_error_;
}

void Actor::record_error(const std::string& what) {
  counters_.errors.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(error_mu_);
    last_error_ = what;
  }
  error_log_.record(cause_of(what), what);
}

void Actor::record_drop(const std::string& what, uint64_t n) {
  bump(counters_.drops, n);
  drop_log_.record(cause_of(what), what, n);
}

void Actor::summarize_log() {
  error_log_.summarize();
  drop_log_.summarize();
}

Status Actor::start(std::chrono::milliseconds timeout) {
  if (!behavior_) return Status(ErrorCode::invalid_argument, "actor has no behaviour");
  if (running_) return Status(ErrorCode::invalid_argument, "actor '" + name_ + "' already runs");
  (void)stop();  // joins a previous run that ended by itself or timed out
  try {
    // Both pipe ends are made here so that $TERM always has a connected peer; the child end
    // moves to the actor thread (thread creation is the memory barrier ZeroMQ requires).
    const std::string ep = pipe_endpoint();
    auto parent = std::make_unique<zmq::socket_t>(zmq_, zmq::socket_type::pair);
    zmq::socket_t child(zmq_, zmq::socket_type::pair);
    parent->set(zmq::sockopt::linger, 0);
    child.set(zmq::sockopt::linger, 0);
    parent->bind(ep);
    child.connect(ep);
    pipe_ = std::move(parent);
    thread_ = std::thread(&Actor::run, this, std::move(child));
  } catch (const std::exception& e) {
    pipe_.reset();
    return Status(ErrorCode::internal, "actor '" + name_ + "': cannot spawn: " + e.what());
  }
  try {
    zmq_pollitem_t item{pipe_->handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, timeout) == 0) {
      (void)pipe_->send(zmq::buffer(std::string_view(kTermCommand)), zmq::send_flags::dontwait);
      return Status(ErrorCode::timeout, "actor '" + name_ + "' did not report ready within " +
                                            std::to_string(timeout.count()) + " ms");
    }
    std::vector<std::string> reply = recv_command(*pipe_, zmq::recv_flags::none);
    if (!reply.empty() && reply[0] == kReady) return Status();
    thread_.join();
    pipe_.reset();
    if (reply.size() == 3 && reply[0] == kError) {
      return Status(static_cast<ErrorCode>(std::stoi(reply[1])), reply[2]);
    }
    return Status(ErrorCode::internal, "actor '" + name_ + "': bad handshake");
  } catch (const std::exception& e) {
    (void)stop();
    return Status(ErrorCode::internal, "actor '" + name_ + "': handshake failed: " + e.what());
  }
}

Status Actor::stop() {
  if (!thread_.joinable()) return Status();
  try {
    // Fails harmlessly (EAGAIN) when the thread has already closed its end.
    (void)pipe_->send(zmq::buffer(std::string_view(kTermCommand)), zmq::send_flags::dontwait);
  } catch (const zmq::error_t&) {
  }
  thread_.join();
  pipe_.reset();
  return Status();
}

void Actor::run(zmq::socket_t pipe) {
  auto ctx = std::unique_ptr<ActorContext>(new ActorContext(*this, zmq_, pipe));
  Status st;
  try {
    st = behavior_->start(*ctx);
  } catch (const std::exception& e) {
    st = Status(ErrorCode::internal, std::string("start() threw: ") + e.what());
  } catch (...) {
    st = Status(ErrorCode::internal, "start() threw a non-standard exception");
  }
  try {
    if (!st.ok()) {
      record_error("start failed: " + st.to_string());
      ctx.reset();  // close the sockets first so that a retry can bind the same endpoints
      const std::string code = std::to_string(static_cast<int>(st.code()));
      pipe.send(zmq::buffer(std::string_view(kError)), zmq::send_flags::sndmore);
      pipe.send(zmq::buffer(code), zmq::send_flags::sndmore);
      pipe.send(zmq::buffer(st.message()), zmq::send_flags::none);
      summarize_log();
      return;
    }
    running_ = true;
    pipe.send(zmq::buffer(std::string_view(kReady)), zmq::send_flags::none);
  } catch (const zmq::error_t& e) {
    record_error(std::string("handshake: ") + e.what());
    running_ = false;
    summarize_log();
    return;
  }
  loop(*ctx);
  try {
    behavior_->stop(*ctx);
  } catch (const std::exception& e) {
    record_error(std::string("stop() threw: ") + e.what());
  } catch (...) {
    record_error("stop() threw a non-standard exception");
  }
  ctx.reset();
  counters_.queue_depth = 0;
  summarize_log();
  running_ = false;
}

void Actor::loop(ActorContext& ctx) {
  std::vector<zmq_pollitem_t> items;
  while (!ctx.stop_requested_) {
    if (ctx.sockets_changed_) {
      items.assign(1, zmq_pollitem_t{ctx.pipe_.handle(), 0, ZMQ_POLLIN, 0});
      for (const auto& entry : ctx.sockets_) {
        items.push_back(zmq_pollitem_t{entry->socket.handle(), 0, ZMQ_POLLIN, 0});
      }
      ctx.sockets_changed_ = false;
    }
    try {
      zmq::poll(items);
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      record_error(std::string("poll: ") + e.what());
      break;
    }
    if (items[0].revents & ZMQ_POLLIN) {
      try {
        ctx.read_pipe();
      } catch (const zmq::error_t& e) {
        record_error(std::string("control pipe: ") + e.what());
        break;
      }
    }
    // Sockets added by handlers below join the poll set on the next round.
    const size_t polled = items.size() - 1;
    for (SocketId id = 0; id < polled && !ctx.stop_requested_; ++id) {
      if (items[id + 1].revents & ZMQ_POLLIN) serve_socket(ctx, id);
    }
  }
}

void Actor::serve_socket(ActorContext& ctx, SocketId id) {
  struct Received {
    std::optional<std::string> routing_id;
    Expected<Message> msg;
  };
  std::vector<Received> batch;
  ActorContext::Entry& entry = *ctx.sockets_[id];
  while (batch.size() < kBatch) {
    std::string routing_id;
    WireStats wire;
    Expected<Message> msg = recv_envelope(entry.socket, entry.routed ? &routing_id : nullptr,
                                          ctx.limits_, /*dont_wait=*/true, &wire);
    const ErrorCode code = msg.status().code();
    if (code == ErrorCode::timeout) break;  // drained
    if (code == ErrorCode::closed || code == ErrorCode::io_error || code == ErrorCode::internal) {
      record_error(fmt::format("receive on socket {}: {}", id, msg.status().to_string()));
      if (code == ErrorCode::closed) ctx.stop_requested_ = true;
      break;
    }
    bump(counters_.bytes_in, wire.bytes);
    if (msg.ok()) bump(counters_.messages_in);
    batch.push_back(
        Received{entry.routed ? std::optional<std::string>(std::move(routing_id)) : std::nullopt,
                 std::move(msg)});
  }
  counters_.queue_depth = batch.size();
  for (size_t i = 0; i < batch.size(); ++i) {
    if (ctx.stop_requested_) {
      record_drop(fmt::format("stopping: {} received message(s) on socket {} not handled",
                              batch.size() - i, id),
                  batch.size() - i);
      break;
    }
    Received& r = batch[i];
    std::string failure;
    try {
      Status st;
      if (r.msg.ok()) {
        st = behavior_->on_message(ctx, id, std::move(r.routing_id), std::move(r.msg.value()));
      } else {
        bump(counters_.drops);  // logged as an error, not again as a drop
        record_error(
            fmt::format("malformed message on socket {}: {}", id, r.msg.status().to_string()));
        st = behavior_->on_malformed(ctx, id, r.msg.status());
      }
      if (!st.ok()) failure = fmt::format("handler (socket {}): {}", id, st.to_string());
    } catch (const zmq::error_t& e) {
      failure = fmt::format("handler (socket {}) threw zmq::error_t: {}", id, e.what());
    } catch (const std::exception& e) {
      failure = fmt::format("handler (socket {}) threw: {}", id, e.what());
    } catch (...) {
      failure = fmt::format("handler (socket {}) threw a non-standard exception", id);
    }
    if (!failure.empty()) record_error(failure);
    counters_.queue_depth = batch.size() - i - 1;
  }
}

}  // namespace engram
