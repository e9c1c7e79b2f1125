// ActorHost: the set of actors of one process, their wiring and their ZeroMQ context.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "runtime/actor.h"
#include "runtime/counters.h"
#include "runtime/status.h"

namespace engram {

struct HostConfig {
  // Actor name -> endpoint that actor binds. Absent names bind "inproc://<name>". ipc:// and
  // tcp:// endpoints work unchanged; "tcp://host:*" binds an ephemeral port, and endpoint()
  // then returns the concrete one. Names of actors living in other processes may be listed
  // too, so local actors can reach them through ActorContext::endpoint_of().
  std::map<std::string, std::string> endpoints;
  // Endpoint -> options applied to every actor socket before it connects there (e.g. CURVE
  // client keys for a module served by another process).
  std::map<std::string, SocketOptions> connect_options;
  // How long each actor's start() may take before start_all() gives up on it.
  std::chrono::milliseconds start_timeout{10000};
};

// Owns the ZeroMQ context and the actors. add/start_all/stop_all and destruction are called
// from one controlling thread; endpoint(), counters(), failures() from any thread as long as no
// add() runs concurrently.
class ActorHost {
 public:
  explicit ActorHost(HostConfig config = {});
  ActorHost(const ActorHost&) = delete;
  ActorHost& operator=(const ActorHost&) = delete;
  // Stops all actors, then terminates the context. Sockets made by drivers on context() must
  // be closed before (declare them after the host, or use make_socket()): ZeroMQ's context
  // termination waits for every socket of the context.
  ~ActorHost();

  // Takes ownership of `behavior`. invalid_argument for null, an empty or duplicate name, or
  // while the actors run.
  Status add(std::unique_ptr<ActorBehavior> behavior);
  // Starts the actors in add order. If one fails, the ones already started are stopped (in
  // reverse order) and its error is returned, prefixed with its name. No-op when running.
  Status start_all();
  // Stops the actors in reverse add order. Idempotent; never waits for absent peers.
  Status stop_all();
  bool running() const { return started_; }

  // The endpoint actor `name` binds (the concrete one after a wildcard bind); "" if unknown.
  std::string endpoint(const std::string& name) const;
  // One snapshot per actor, in add order.
  std::vector<CounterSnapshot> counters() const;
  // "name: last error" for every actor that has counted errors.
  std::vector<std::string> failures() const;
  // The process's ZeroMQ context, for driver threads (e.g. the Lua thread) to make sockets.
  zmq::context_t& context() { return context_; }
  // A socket on context() with linger 0, for a driver thread.
  zmq::socket_t make_socket(zmq::socket_type type);
  // Binds a driver thread's socket to the endpoint configured for `name` ("inproc://<name>"
  // when absent) and records the concrete endpoint, so that actors connecting to `name` (e.g.
  // to report progress) reach it after a wildcard bind such as "tcp://127.0.0.1:*". Call
  // before start_all(). Errors: io_error naming the endpoint.
  Status bind_driver(zmq::socket_t& socket, const std::string& name);

 private:
  zmq::context_t context_;  // first member: destroyed after the actors and their sockets
  HostConfig config_;
  std::shared_ptr<EndpointRegistry> endpoints_;
  std::vector<std::unique_ptr<Actor>> actors_;
  bool started_ = false;
};

}  // namespace engram
