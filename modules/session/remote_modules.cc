#include "modules/session/remote_modules.h"

#include <thread>

#include "modules/actors/messages.h"
#include "runtime/endpoint_scope.h"

namespace engram {
namespace {

Status refuse(const std::string& what) { return Status(ErrorCode::invalid_argument, what); }

std::string key(const std::string& where, const std::string& name) {
  return where.empty() ? name : where + "." + name;
}

}  // namespace

Status validate_remote_modules(const RemoteModulesConfig& config, const std::string& where) {
  const std::string placement = key(where, "placement");
  for (const auto& [module, endpoint] : config.placement) {
    const std::string name = placement + "." + module;
    if (module != "hippocampus" && module != "association" && module != "neocortex") {
      return refuse(name + ": unknown module (hippocampus, association or neocortex)");
    }
    auto scope = endpoint_scope(endpoint, /*for_bind=*/false);
    if (!scope.ok()) return refuse(name + ": " + scope.status().message());
    if (*scope == EndpointScope::process) {
      return refuse(name + ": \"" + endpoint +
                    "\" is inside this process; use tcp:// or ipc:// to reach `engram serve`");
    }
    if (*scope == EndpointScope::network && !config.curve_on()) {
      return refuse(name + ": \"" + endpoint + "\" leaves this machine, so the link must be " +
                    "encrypted: set " + key(where, "curve") +
                    " = { server_public_key = ..., client_secret_key = ... } (`engram keygen`), "
                    "or use a loopback address (127.0.0.1)");
    }
  }
  if (config.curve_on() &&
      (config.curve.server_public_key.empty() || config.curve.client_secret_key.empty())) {
    return refuse(key(where, "curve") +
                  ": both server_public_key and client_secret_key are needed");
  }
  const int interval = config.heartbeat_interval_ms, timeout = config.heartbeat_timeout_ms;
  if (interval < 10 || interval > 60000) {
    return refuse(key(where, "heartbeat.interval_ms") + " must be in [10, 60000], got " +
                  std::to_string(interval));
  }
  if (timeout < 2 * interval || timeout > 600000) {
    return refuse(key(where, "heartbeat.timeout_ms") +
                  " must be at least two intervals and at most 600000, got " +
                  std::to_string(timeout));
  }
  return Status();
}

Expected<SocketOptions> remote_connect_options(const RemoteModulesConfig& config) {
  if (!config.curve_on()) return SocketOptions();
  return curve_client_options(config.curve);
}

Expected<std::vector<std::unique_ptr<HeartbeatMonitor>>> start_heartbeats(
    const RemoteModulesConfig& config, const SocketOptions& options) {
  std::vector<std::unique_ptr<HeartbeatMonitor>> out;
  for (const auto& [module, endpoint] : config.placement) {
    HeartbeatConfig hc;
    hc.module = module;
    hc.endpoint = endpoint;
    hc.options = options;
    hc.interval = std::chrono::milliseconds(config.heartbeat_interval_ms);
    hc.timeout = std::chrono::milliseconds(config.heartbeat_timeout_ms);
    auto monitor = HeartbeatMonitor::start(hc);
    if (!monitor.ok()) return monitor.status();
    out.push_back(std::move(*monitor));
  }
  return out;
}

std::string lost_module(const std::vector<std::unique_ptr<HeartbeatMonitor>>& monitors) {
  for (const auto& m : monitors) {
    std::string why = m->failure();
    if (!why.empty()) return why;
  }
  return std::string();
}

Status request_done(zmq::socket_t& socket, Message request, const std::string& what,
                    const std::vector<std::unique_ptr<HeartbeatMonitor>>& monitors) {
  if (Status s = send_message(socket, std::move(request)); !s.ok()) {
    return Status(ErrorCode::io_error, what + ": cannot send: " + s.message());
  }
  zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
  for (;;) {
    if (zmq::poll(&item, 1, std::chrono::milliseconds(100)) > 0) break;
    if (std::string why = lost_module(monitors); !why.empty()) {
      return Status(ErrorCode::closed, why);
    }
  }
  auto reply = recv_message(socket);
  if (!reply.ok()) return reply.status();
  if (reply->header.type == msg::kDone) return Status();
  auto error = reply->header.strings.find("error");
  return Status(
      ErrorCode::invalid_argument,
      what + ": " + (error == reply->header.strings.end() ? reply->header.type : error->second));
}

Status adopt_remote_module(zmq::socket_t& socket, const std::string& module, Message adopt,
                           const std::vector<std::unique_ptr<HeartbeatMonitor>>& monitors) {
  return request_done(socket, std::move(adopt), "the served " + module + " refused its state",
                      monitors);
}

}  // namespace engram
