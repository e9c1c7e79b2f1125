// Actors: one thread that owns its ZeroMQ sockets and a poll loop, after CZMQ's zactor.
//
// Lifecycle. Actor::start() spawns the thread. The thread connects an inproc PAIR control pipe
// to its parent, runs ActorBehavior::start() (which creates, binds and connects sockets through
// the ActorContext), then reports "$READY" or the start error over the pipe; start() waits for
// that handshake. The thread then polls the pipe and every socket with zmq::poll and hands each
// decoded envelope to ActorBehavior::on_message. Actor::stop() sends "$TERM" over the pipe and
// joins; the thread calls ActorBehavior::stop() and closes its sockets (linger 0 always), so
// stopping never waits for an absent peer.
//
// Errors. Exceptions from a behaviour (std::exception, zmq::error_t or anything else) and
// non-ok Status returns are caught at the actor boundary: counted in `errors`, recorded as
// last_error(), logged (runtime/log.h) under the actor's name, and the actor keeps serving.
// Errors and drops are logged once per cause with counts (runtime/log_tally.h): the first of
// each cause in full, repeats as a count at most once a minute, and a count per cause repeated
// when the actor's loop ends ("4,312 errors 'handler (socket #): ...' in all").
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "runtime/counters.h"
#include "runtime/envelope.h"
#include "runtime/log_tally.h"
#include "runtime/status.h"

namespace engram {

// Index of a socket inside one ActorContext.
using SocketId = size_t;

// Options applied to a socket before it connects to a given endpoint (e.g. CURVE client keys
// for a module in another process). May throw zmq::error_t.
using SocketOptions = std::function<void(zmq::socket_t&)>;

// The wiring shared by a host and its actors: actor name -> endpoint that actor binds.
// Thread-safe.
class EndpointRegistry {
 public:
  explicit EndpointRegistry(std::map<std::string, std::string> endpoints = {})
      : configured_(std::move(endpoints)) {}

  // The endpoint for `actor_name`: the concrete one if that actor bound a wildcard (e.g.
  // "tcp://127.0.0.1:*"), else the configured one; "" when the name is unknown.
  std::string lookup(const std::string& actor_name) const;
  // The configured endpoint only (what the actor itself should bind); "" when unknown.
  std::string configured(const std::string& actor_name) const;
  // Sets the configured endpoint of `actor_name`.
  void configure(const std::string& actor_name, std::string endpoint);
  // Records the concrete endpoint an actor's wildcard bind produced.
  void resolve(const std::string& actor_name, std::string endpoint);
  // Forgets every resolved endpoint (actors stopped).
  void clear_resolved();
  // Options every socket gets before it connects to `endpoint` (replaces earlier ones).
  void set_connect_options(const std::string& endpoint, SocketOptions options);
  // The options for `endpoint`; empty when none were set.
  SocketOptions connect_options(const std::string& endpoint) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::string> configured_;
  std::map<std::string, std::string> resolved_;
  std::map<std::string, SocketOptions> connect_options_;
};

class Actor;

// What a behaviour sees of its actor. Every method must be called on the actor's own thread,
// i.e. from inside ActorBehavior callbacks; the context and its sockets die with the thread.
class ActorContext {
 public:
  ActorContext(const ActorContext&) = delete;
  ActorContext& operator=(const ActorContext&) = delete;
  ~ActorContext();

  // The actor's name; also the `source` of messages sent through send()/send_to().
  const std::string& name() const { return name_; }
  // The process-wide ZeroMQ context (for sockets the behaviour manages itself).
  zmq::context_t& zmq() { return zmq_; }

  // Creates a socket owned by this context (linger 0) and polled by the actor loop. `routed`
  // must be true exactly for ROUTER sockets: their messages carry the peer's routing id.
  // Throws std::invalid_argument on that mismatch, zmq::error_t if ZeroMQ refuses.
  SocketId add_socket(zmq::socket_type type, bool routed);
  // The socket behind `id` for options or raw use (raw traffic is not counted). Throws
  // std::out_of_range for an unknown id.
  zmq::socket_t& socket(SocketId id);
  // Binds / connects `id`. An empty endpoint (e.g. endpoint_of an unknown actor) is not_found.
  // Binding this actor's own configured endpoint records the concrete endpoint (wildcard tcp
  // ports) so that endpoint_of() and ActorHost::endpoint() return it. connect() first applies
  // the wiring's connect options for `endpoint` (EndpointRegistry::set_connect_options).
  Status bind(SocketId id, const std::string& endpoint);
  Status connect(SocketId id, const std::string& endpoint);
  // Waits until socket `id` has a message to read (ok), `timeout` passes (ErrorCode::timeout)
  // or the actor is told to stop (ErrorCode::closed): for a handler awaiting a peer's reply,
  // so that stop() never waits for a peer that died.
  Status wait_readable(SocketId id, std::chrono::milliseconds timeout);

  // Sends `msg` on a non-ROUTER socket; fills header.source (if empty) and header.seq (if 0).
  // When the peer's queue is full the send waits, but returns ErrorCode::closed as soon as the
  // actor is told to stop, so a missing peer never blocks stop(). A failure counts as a drop
  // (the caller decides whether it is an error by returning it). Payload frames are consumed.
  Status send(SocketId id, Message&& msg);
  // As send() on a ROUTER socket to the peer `routing_id`; an unknown or departed peer is
  // ErrorCode::closed (ZMQ_ROUTER_MANDATORY is set on routed sockets).
  Status send_to(SocketId id, const std::string& routing_id, Message&& msg);

  // This actor's counters (the loop and send()/send_to() maintain them).
  ActorCounters& counters() { return counters_; }
  // The endpoint the wiring gives `actor_name` ("" when unknown; bind/connect then fail).
  std::string endpoint_of(const std::string& actor_name) const;
  // The endpoint this actor is configured to bind.
  std::string own_endpoint() const { return endpoint_of(name_); }
  // Ends the poll loop after the current handler returns; stop() still has to be called.
  void request_stop() { stop_requested_ = true; }
  bool stop_requested() const { return stop_requested_; }
  // 1, 2, 3, ... per actor run.
  uint64_t next_seq() { return ++seq_; }
  // Limits applied to every message this actor receives.
  void set_decode_limits(const DecodeLimits& limits) { limits_ = limits; }
  const DecodeLimits& decode_limits() const { return limits_; }

 private:
  friend class Actor;
  struct Entry {
    zmq::socket_t socket;
    bool routed;
    std::vector<std::string> bound;  // concrete endpoints, unbound explicitly on destruction
  };
  ActorContext(Actor& actor, zmq::context_t& zmq, zmq::socket_t& pipe);
  Status send_impl(SocketId id, const std::string* routing_id, Message& msg);
  // Waits until `sock` may accept a message or $TERM arrives (then false).
  bool wait_writable(zmq::socket_t& sock);
  // Reads one control command; sets term_ and stop_requested_ on $TERM.
  void read_pipe();

  Actor& actor_;
  const std::string& name_;
  zmq::context_t& zmq_;
  zmq::socket_t& pipe_;
  ActorCounters& counters_;
  std::vector<std::unique_ptr<Entry>> sockets_;
  bool sockets_changed_ = true;
  bool stop_requested_ = false;
  bool term_ = false;
  uint64_t seq_ = 0;
  DecodeLimits limits_;
};

// A module's message handlers. All callbacks run on the actor's thread.
class ActorBehavior {
 public:
  virtual ~ActorBehavior() = default;
  // Unique name of the actor (wiring key, message source, log prefix). Must not change.
  virtual std::string name() const = 0;
  // Before the ready handshake: create/bind/connect sockets via ctx. A non-ok Status (or an
  // exception) makes Actor::start() fail with it; stop() is then not called.
  virtual Status start(ActorContext& ctx) = 0;
  // One decoded envelope from socket `from`; `routing_id` is set for routed (ROUTER) sockets.
  virtual Status on_message(ActorContext& ctx, SocketId from, std::optional<std::string> routing_id,
                            Message&& msg) = 0;
  // A message on `from` that failed to decode. It has already been counted as an error and a
  // drop; the default does nothing more.
  virtual Status on_malformed(ActorContext& ctx, SocketId from, const Status& why) {
    (void)ctx;
    (void)from;
    (void)why;
    return Status();
  }
  // After $TERM (or request_stop), before the sockets are closed.
  virtual void stop(ActorContext& ctx) { (void)ctx; }
};

// One actor thread running one behaviour. start()/stop() are called from one controlling
// thread (not concurrently); counters(), last_error(), running() from any thread.
class Actor {
 public:
  // `zmq` and `endpoints` must outlive the actor. Takes ownership of `behavior`.
  Actor(zmq::context_t& zmq, std::unique_ptr<ActorBehavior> behavior,
        std::shared_ptr<EndpointRegistry> endpoints);
  Actor(const Actor&) = delete;
  Actor& operator=(const Actor&) = delete;
  // Stops the thread if it runs.
  ~Actor();

  // Spawns the thread and waits for the ready handshake. Returns the behaviour's start error,
  // ErrorCode::timeout if no handshake arrives in `timeout` (the thread is then told to stop
  // and is joined by stop()), or invalid_argument if already running. May be called again
  // after stop(): the behaviour's start() runs again on a fresh context.
  Status start(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Sends $TERM and joins. Idempotent; never waits for peers (linger 0). Blocks only as long
  // as a behaviour callback that is running takes to return.
  Status stop();

  const std::string& name() const { return name_; }
  // True between a successful start() and stop() unless the loop ended by itself.
  bool running() const { return running_.load(); }
  // A copy of the counters; any thread.
  CounterSnapshot counters() const { return counters_.snapshot(name_); }
  // Text of the most recent error ("" if none); any thread.
  std::string last_error() const;

 private:
  friend class ActorContext;
  static constexpr const char* kTermCommand = "$TERM";
  // Receives every frame of one control-pipe command as strings. Throws zmq::error_t.
  static std::vector<std::string> recv_command(zmq::socket_t& pipe, zmq::recv_flags flags);
  void run(zmq::socket_t pipe);
  void loop(ActorContext& ctx);
  // Reads up to a batch of envelopes from socket `id` and hands them to the behaviour.
  void serve_socket(ActorContext& ctx, SocketId id);
  // Counts, records and logs one error (once per cause: its text without numbers). Any thread.
  void record_error(const std::string& what);
  // Counts `n` dropped messages and logs them once per cause (as record_error). Any thread.
  void record_drop(const std::string& what, uint64_t n = 1);
  // Logs the per-cause counts of this run's errors and drops and starts them afresh.
  void summarize_log();

  zmq::context_t& zmq_;
  std::unique_ptr<ActorBehavior> behavior_;
  std::shared_ptr<EndpointRegistry> endpoints_;
  const std::string name_;
  ActorCounters counters_;
  LogTally error_log_{name_, "errors", LogLevel::error};
  LogTally drop_log_{name_, "drops", LogLevel::warn};
  std::unique_ptr<zmq::socket_t> pipe_;  // parent end, controlling thread only
  std::thread thread_;
  std::atomic<bool> running_{false};
  mutable std::mutex error_mu_;
  std::string last_error_;
};

}  // namespace engram
