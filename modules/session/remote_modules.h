// Modules in other processes: where a session's modules live (`placement`), the keys of the
// links to them and the heartbeats that watch them. Only the hippocampus can be placed in
// another process so far (`engram serve hippocampus`); the association and the neocortex stay
// with the driver.
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
// name other than hippocampus, association, neocortex; association or neocortex (not servable
// yet); a malformed endpoint (endpoint_scope); an endpoint that leaves the machine without CURVE
// keys; only one of the two keys; heartbeat interval outside [10, 60000] ms or a timeout below
// two intervals or above 600000 ms.
Status validate_remote_modules(const RemoteModulesConfig& config, const std::string& where);

// The options for sockets connecting to placed modules (CURVE client keys), or empty options
// when CURVE is off. Errors: bad keys (curve_client_options).
Expected<SocketOptions> remote_connect_options(const RemoteModulesConfig& config);

// Starts one heartbeat monitor per placed module. Errors: HeartbeatMonitor::start's.
Expected<std::vector<std::unique_ptr<HeartbeatMonitor>>> start_heartbeats(
    const RemoteModulesConfig& config, const SocketOptions& options);

// "module '...' at ...: why" for the first monitor that lost its module; "" when all answer.
std::string lost_module(const std::vector<std::unique_ptr<HeartbeatMonitor>>& monitors);

// Hands the served hippocampus the state it serves from now on (kAdopt with the buffer and the
// sampler's random stream) over `socket` (a DEALER connected to it) and waits for its kDone.
// Gives up as soon as `monitor` declares the module lost. Errors: closed (lost, with the
// monitor's reason), invalid_argument (the module refused the state), io_error.
Status adopt_remote_hippocampus(zmq::socket_t& socket, const CodeBuffer& buffer,
                                const std::mt19937_64& sampler, const HeartbeatMonitor& monitor);

}  // namespace engram
