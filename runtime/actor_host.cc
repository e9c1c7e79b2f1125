#include "runtime/actor_host.h"

#include <utility>

namespace engram {

ActorHost::ActorHost(HostConfig config)
    : config_(std::move(config)),
      endpoints_(std::make_shared<EndpointRegistry>(config_.endpoints)) {
  for (const auto& [endpoint, options] : config_.connect_options) {
    endpoints_->set_connect_options(endpoint, options);
  }
}

ActorHost::~ActorHost() {
  (void)stop_all();
  actors_.clear();
  // Makes blocking calls of driver threads return ETERM; context_'s destructor then waits only
  // for sockets that are still open.
  context_.shutdown();
}

Status ActorHost::add(std::unique_ptr<ActorBehavior> behavior) {
  if (!behavior) return Status(ErrorCode::invalid_argument, "add: null behaviour");
  if (started_) return Status(ErrorCode::invalid_argument, "add: actors are running");
  const std::string name = behavior->name();
  if (name.empty()) return Status(ErrorCode::invalid_argument, "add: empty actor name");
  for (const auto& a : actors_) {
    if (a->name() == name) {
      return Status(ErrorCode::invalid_argument, "add: duplicate actor name '" + name + "'");
    }
  }
  auto it = config_.endpoints.find(name);
  endpoints_->configure(name, it != config_.endpoints.end() ? it->second : "inproc://" + name);
  actors_.push_back(std::make_unique<Actor>(context_, std::move(behavior), endpoints_));
  return Status();
}

Status ActorHost::start_all() {
  if (started_) return Status();
  for (size_t i = 0; i < actors_.size(); ++i) {
    Status st = actors_[i]->start(config_.start_timeout);
    if (!st.ok()) {
      for (size_t k = i + 1; k-- > 0;) (void)actors_[k]->stop();
      endpoints_->clear_resolved();
      return Status(st.code(),
                    "actor '" + actors_[i]->name() + "' failed to start: " + st.message());
    }
  }
  started_ = true;
  return Status();
}

Status ActorHost::stop_all() {
  Status first;
  for (size_t k = actors_.size(); k-- > 0;) {
    Status st = actors_[k]->stop();
    if (first.ok() && !st.ok()) first = st;
  }
  endpoints_->clear_resolved();
  started_ = false;
  return first;
}

std::string ActorHost::endpoint(const std::string& name) const { return endpoints_->lookup(name); }

std::vector<CounterSnapshot> ActorHost::counters() const {
  std::vector<CounterSnapshot> out;
  out.reserve(actors_.size());
  for (const auto& a : actors_) out.push_back(a->counters());
  return out;
}

std::vector<std::string> ActorHost::failures() const {
  std::vector<std::string> out;
  for (const auto& a : actors_) {
    if (a->counters().errors > 0) out.push_back(a->name() + ": " + a->last_error());
  }
  return out;
}

Status ActorHost::bind_driver(zmq::socket_t& socket, const std::string& name) {
  auto it = config_.endpoints.find(name);
  const std::string configured = it != config_.endpoints.end() ? it->second : "inproc://" + name;
  endpoints_->configure(name, configured);
  std::string concrete;
  try {
    socket.bind(configured);
    concrete = socket.get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t& e) {
    return Status(ErrorCode::io_error,
                  "cannot bind " + name + " endpoint " + configured + ": " + e.what());
  }
  if (!concrete.empty() && concrete != configured) endpoints_->resolve(name, concrete);
  return Status();
}

zmq::socket_t ActorHost::make_socket(zmq::socket_type type) {
  zmq::socket_t sock(context_, type);
  sock.set(zmq::sockopt::linger, 0);
  return sock;
}

}  // namespace engram
