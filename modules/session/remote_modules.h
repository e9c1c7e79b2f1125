// Modules in other processes: where a session's modules live (`placement`), the keys of the
// links to them and the heartbeats that watch them. Any subset of the hippocampus, the
// association and the neocortex can be placed in other processes (`engram serve MODULE`); the
// others run as threads of the driver's process.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "io/sensors/curve_auth.h"
#include "modules/hippocampus/code_buffer.h"
#include "runtime/actor.h"
#include "runtime/envelope.h"
#include "runtime/heartbeat_monitor.h"
#include "runtime/status.h"

namespace engram {

struct RemoteModulesConfig {
  // Module name -> endpoint where `engram serve MODULE --bind ENDPOINT` runs, e.g.
  // {"hippocampus", "tcp://127.0.0.1:5701"}. Absent modules run as threads of this process.
  std::map<std::string, std::string> placement;
  // CURVE client keys for every link to a placed module; both empty: CURVE off (allowed only
  // for loopback and ipc:// endpoints).
  CurveClientKeys curve;
  int heartbeat_interval_ms = 500;
  int heartbeat_timeout_ms = 3000;  // no answer for this long: the module is declared lost

  bool curve_on() const {
    return !curve.server_public_key.empty() || !curve.client_secret_key.empty();
  }
};

// Checks a configuration before anything starts. `where` prefixes the names in errors
// ("runtime" -> "runtime.placement.association ..."). Errors (invalid_argument): a module
// name other than hippocampus, association, neocortex; a malformed endpoint (endpoint_scope);
// an endpoint that leaves the machine without CURVE keys; only one of the two keys; heartbeat
// interval outside [10, 60000] ms or a timeout below two intervals or above 600000 ms.
Status validate_remote_modules(const RemoteModulesConfig& config, const std::string& where);

// The options for sockets connecting to placed modules (CURVE client keys), or empty options
// when CURVE is off. Errors: bad keys (curve_client_options).
Expected<SocketOptions> remote_connect_options(const RemoteModulesConfig& config);

// Starts one heartbeat monitor per placed module. Errors: HeartbeatMonitor::start's.
Expected<std::vector<std::unique_ptr<HeartbeatMonitor>>> start_heartbeats(
    const RemoteModulesConfig& config, const SocketOptions& options);

// "module '...' at ...: why" for the first monitor that lost its module; "" when all answer.
std::string lost_module(const std::vector<std::unique_ptr<HeartbeatMonitor>>& monitors);

// Sends `request` over `socket` and waits for its kDone, giving up as soon as one of `monitors`
// declares its module lost. Errors: closed (lost, with the monitor's reason), invalid_argument
// ("WHAT: the kError's reason"), io_error (prefixed with `what`).
Status request_done(zmq::socket_t& socket, Message request, const std::string& what,
                    const std::vector<std::unique_ptr<HeartbeatMonitor>>& monitors);

// Hands a served module the state it serves from now on (`adopt`, a kAdopt message: for the
// hippocampus hippocampus_adopt_message, for the association and the neocortex
// module_adopt_message) over `socket` (a DEALER connected to it) and waits for its kDone. Gives
// up as soon as one of `monitors` declares its module lost. Errors: closed (lost, with the
// monitor's reason), invalid_argument (the module refused the state, naming it), io_error.
Status adopt_remote_module(zmq::socket_t& socket, const std::string& module, Message adopt,
                           const std::vector<std::unique_ptr<HeartbeatMonitor>>& monitors);

}  // namespace engram
