// `engram serve MODULE [--config FILE] [--bind ENDPOINT]`: one module actor in a process of its
// own, which a driver (`engram run` with `placement = { MODULE = ENDPOINT }` in its runtime
// table) fills with its state and uses over ZeroMQ: the hippocampus, the association or the
// neocortex (modules/actors/served_module.h). A served module only binds: the links its actor
// makes to other modules travel back over the driver's connection (module_relay.h).
//
// The configuration file is JSON, every key optional:
//   { "curve": { "server_secret_key": "<Z85>", "allowed_client_keys": ["<Z85>", ...] } }
// With curve keys the link is encrypted and only drivers holding an allowed client key are
// admitted (the sensor bridge's ZAP handler, io/sensors/curve_auth.h); refused peers are
// counted and logged. Without them the module only binds loopback or ipc:// endpoints.
#pragma once

#include <memory>
#include <string>

namespace CLI {
class App;
}

namespace engram {

struct ServeCommand {
  CLI::App* app = nullptr;  // the subcommand (parsed() tells whether it was chosen)
  std::string module;
  std::string config_path;
  std::string bind = "tcp://127.0.0.1:5701";
};

// Adds the `serve` subcommand to `app`; parsing fills the returned options.
std::unique_ptr<ServeCommand> add_serve_command(CLI::App& app);

// Serves the module until SIGINT or SIGTERM. Prints "serving MODULE on ENDPOINT (CURVE on|off)"
// on stdout once it listens (ENDPOINT is concrete after a wildcard port, tcp://127.0.0.1:*), and
// its counters when it stops. Returns the exit code: 0 after a signal, 1 when it cannot serve
// (the endpoint cannot be bound, an unreadable config), 2 for refused settings (an unknown module,
// a malformed endpoint, a non-loopback endpoint without CURVE keys, bad keys).
int run_serve_command(const ServeCommand& command);

}  // namespace engram
