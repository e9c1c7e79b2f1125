#include "bindings/cli/serve.h"

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <fstream>
#include <iostream>
#include <thread>

#include "io/sensors/curve_auth.h"
#include "modules/actors/served_module.h"
#include "modules/session/served_modules.h"
#include "runtime/actor_host.h"
#include "runtime/endpoint_scope.h"
#include "runtime/log.h"

namespace engram {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitRuntimeError = 1;
constexpr int kExitUsage = 2;

std::atomic<bool> g_stop{false};

extern "C" void on_stop_signal(int) { g_stop = true; }

// The CURVE settings of a serve configuration file (see serve.h); disabled when absent.
Expected<CurveConfig> read_serve_config(const std::string& path) {
  CurveConfig curve;
  if (path.empty()) return curve;
  std::ifstream in(path);
  if (!in) return Status(ErrorCode::io_error, "--config " + path + ": cannot be read");
  nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  auto bad = [&](const std::string& why) {
    return Status(ErrorCode::invalid_argument, "--config " + path + ": " + why);
  };
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  for (const auto& item : j.items()) {
    if (item.key() != "curve") return bad("unknown key \"" + item.key() + "\" (known: curve)");
  }
  if (!j.contains("curve")) return curve;
  const nlohmann::json& c = j.at("curve");
  if (!c.is_object()) return bad("curve must be an object");
  for (const auto& item : c.items()) {
    if (item.key() != "server_secret_key" && item.key() != "allowed_client_keys") {
      return bad("unknown key curve." + item.key() +
                 " (known: server_secret_key, allowed_client_keys)");
    }
  }
  if (!c.contains("server_secret_key") || !c.at("server_secret_key").is_string()) {
    return bad("curve.server_secret_key must be a Z85 string (`engram keygen`)");
  }
  curve.server_secret_key = c.at("server_secret_key").get<std::string>();
  if (!c.contains("allowed_client_keys") || !c.at("allowed_client_keys").is_array()) {
    return bad("curve.allowed_client_keys must be a list of Z85 public keys");
  }
  for (const auto& key : c.at("allowed_client_keys")) {
    if (!key.is_string()) return bad("curve.allowed_client_keys holds a non-string");
    curve.allowed_client_keys.push_back(key.get<std::string>());
  }
  curve.enabled = true;
  return curve;
}

int fail(int code, const std::string& message) {
  log_user(LogLevel::error, message);
  return code;
}

}  // namespace

std::unique_ptr<ServeCommand> add_serve_command(CLI::App& app) {
  auto cmd = std::make_unique<ServeCommand>();
  cmd->app = app.add_subcommand(
      "serve",
      "run one module (hippocampus, association or neocortex) in this process for a driver "
      "elsewhere: the driver places it with runtime placement = { MODULE = ENDPOINT } and sends "
      "it its state; a served module never connects out (its links to other modules travel "
      "back through the driver)");
  cmd->app
      ->add_option("module", cmd->module,
                   "the module to serve: hippocampus, association, neocortex")
      ->required();
  cmd->app
      ->add_option("--config", cmd->config_path,
                   "JSON file with the CURVE keys: {\"curve\": {\"server_secret_key\": ..., "
                   "\"allowed_client_keys\": [...]}}")
      ->check(CLI::ExistingFile);
  cmd->app
      ->add_option("--bind", cmd->bind,
                   "where drivers reach the module: tcp://HOST:PORT (PORT * = any free port) or "
                   "ipc://PATH; an address other than loopback needs CURVE keys")
      ->capture_default_str();
  return cmd;
}

int run_serve_command(const ServeCommand& command) {
  auto spec = served_module_spec(command.module);
  if (!spec.ok()) return fail(kExitUsage, "serve: " + spec.status().message());
  const std::string& module = command.module;
  auto scope = endpoint_scope(command.bind, /*for_bind=*/true);
  if (!scope.ok()) return fail(kExitUsage, "--bind: " + scope.status().message());
  if (*scope == EndpointScope::process) {
    return fail(kExitUsage,
                "--bind " + command.bind +
                    ": inproc:// cannot be reached from another process (tcp://, ipc://)");
  }
  auto curve = read_serve_config(command.config_path);
  if (!curve.ok()) {
    return fail(curve.status().code() == ErrorCode::io_error ? kExitRuntimeError : kExitUsage,
                curve.status().message());
  }
  if (*scope == EndpointScope::network && !curve->enabled) {
    return fail(kExitUsage,
                "--bind " + command.bind +
                    " is reachable from other machines: refusing to serve it unencrypted. Put "
                    "CURVE keys in --config ({\"curve\": {\"server_secret_key\": ..., "
                    "\"allowed_client_keys\": [...]}}, `engram keygen`) or bind 127.0.0.1");
  }

  HostConfig hc;
  hc.endpoints[module] = command.bind;
  ActorHost host(hc);
  std::unique_ptr<CurveAuthenticator> auth;
  SocketOptions server_options;
  if (curve->enabled) {
    auto started = CurveAuthenticator::start(host.context(), *curve);
    if (!started.ok()) {
      return fail(
          started.status().code() == ErrorCode::invalid_argument ? kExitUsage : kExitRuntimeError,
          "--config " + command.config_path + ": " + started.status().message());
    }
    auth = std::move(*started);
    server_options = [a = auth.get()](zmq::socket_t& s) { a->configure_server(s); };
  }
  CurveAuthenticator* a = auth.get();
  std::function<uint64_t()> denied;
  if (a) denied = [a] { return a->denied(); };
  if (Status s = host.add(std::make_unique<ServedModule>(*spec, server_options, denied)); !s.ok()) {
    return fail(kExitRuntimeError, s.message());
  }
  if (Status s = host.start_all(); !s.ok()) {
    return fail(kExitRuntimeError, "serve " + module + ": " + s.message());
  }
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  const std::string endpoint = host.endpoint(module);
  std::cout << "serving " << module << " on " << endpoint << " (CURVE " << (a ? "on" : "off") << ")"
            << std::endl;
  log_info("serve", module + " on " + endpoint + " waiting for a driver");
  uint64_t denied_seen = 0;
  while (!g_stop) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (a && a->denied() > denied_seen) {
      const uint64_t now = a->denied();
      log_user(LogLevel::warn,
               fmt::format("refused {} peer(s) whose CURVE key is not allowed ({} refused in all)",
                           now - denied_seen, now));
      denied_seen = now;
    }
  }
  (void)host.stop_all();
  const CounterSnapshot c = host.counters().front();
  std::cout << fmt::format(
                   "{} served: messages in {} out {}, bytes in {} out {}, errors {}, "
                   "refused peers {}",
                   module, c.messages_in, c.messages_out, c.bytes_in, c.bytes_out, c.errors,
                   a ? a->denied() : 0)
            << std::endl;
  auth.reset();  // its ZAP socket closes before the host's context terminates
  return kExitOk;
}

}  // namespace engram
