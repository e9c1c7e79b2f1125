// CURVE encryption and client authentication for the sensor bridge (libzmq's CURVE mechanism
// with a ZAP handler that admits only the configured client public keys).
#pragma once

#include <zmq.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "runtime/actor.h"
#include "runtime/status.h"

namespace engram {

struct CurveConfig {
  bool enabled = false;
  std::string server_secret_key;                 // Z85 text, 40 characters
  std::vector<std::string> allowed_client_keys;  // Z85 public keys of the publishers, >= 1
};

// A new CURVE key pair as Z85 text (public, secret). Errors: unsupported when libzmq was
// built without CURVE.
Expected<std::pair<std::string, std::string>> curve_keypair();

// The public key (Z85) of a Z85 secret key. Errors: invalid_argument for a malformed key.
Expected<std::string> curve_public_key(const std::string& secret_z85);

// The keys of a CURVE client (a driver reaching a module served by another process).
struct CurveClientKeys {
  std::string server_public_key;  // Z85: the public key of the server's secret key
  std::string client_secret_key;  // Z85: this client's secret key (its public key is derived)
};

// Checks both keys and returns the options that make a socket a CURVE client of that server
// (apply before connect). Errors: invalid_argument naming the bad key, unsupported (no CURVE).
Expected<SocketOptions> curve_client_options(const CurveClientKeys& keys);

// Answers libzmq's ZAP requests for every CURVE server socket of one context: a connection is
// admitted only when its client public key is in the allowed set. Runs its own thread.
class CurveAuthenticator {
 public:
  // Checks the configuration (enabled, a valid secret key, >= 1 valid client key) and starts
  // the handler on `context`. Call before binding the server socket. Errors: invalid_argument
  // (names the bad key), unsupported (libzmq without CURVE).
  static Expected<std::unique_ptr<CurveAuthenticator>> start(zmq::context_t& context,
                                                             const CurveConfig& config);
  // Stops the handler thread (never hangs).
  ~CurveAuthenticator();

  // Makes `socket` a CURVE server with the configured secret key (before bind).
  void configure_server(zmq::socket_t& socket) const;

  uint64_t admitted() const { return admitted_.load(); }
  uint64_t denied() const { return denied_.load(); }

 private:
  CurveAuthenticator(zmq::socket_t handler, std::string secret, std::set<std::string> allowed);
  void run();

  zmq::socket_t handler_;
  std::string secret_;             // Z85
  std::set<std::string> allowed_;  // 32-byte binary public keys
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> admitted_{0}, denied_{0};
  std::thread thread_;
};

}  // namespace engram
