#include "io/sensors/curve_auth.h"

#include <chrono>
#include <vector>

namespace engram {
namespace {

constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";  // fixed by the ZAP RFC (27)

Status curve_available() {
  if (zmq_has("curve") == 0) {
    return Status(ErrorCode::unsupported_version, "CURVE: this libzmq was built without CURVE");
  }
  return Status();
}

// 32 binary bytes of a Z85 key, or an error naming `what`.
Expected<std::string> decode_key(const std::string& z85, const std::string& what) {
  if (z85.size() != 40) {
    return Status(
        ErrorCode::invalid_argument,
        "CURVE: " + what + " must be 40 Z85 characters, got " + std::to_string(z85.size()));
  }
  uint8_t raw[32];
  if (zmq_z85_decode(raw, z85.c_str()) == nullptr) {
    return Status(ErrorCode::invalid_argument, "CURVE: " + what + " is not valid Z85");
  }
  return std::string(reinterpret_cast<const char*>(raw), sizeof raw);
}

}  // namespace

Expected<std::pair<std::string, std::string>> curve_keypair() {
  if (Status s = curve_available(); !s.ok()) return s;
  char pub[41], sec[41];
  if (zmq_curve_keypair(pub, sec) != 0) {
    return Status(ErrorCode::internal, std::string("CURVE: keypair: ") + zmq_strerror(zmq_errno()));
  }
  return std::make_pair(std::string(pub), std::string(sec));
}

Expected<std::string> curve_public_key(const std::string& secret_z85) {
  if (Status s = curve_available(); !s.ok()) return s;
  auto raw = decode_key(secret_z85, "the secret key");
  if (!raw.ok()) return raw.status();
  char pub[41];
  if (zmq_curve_public(pub, secret_z85.c_str()) != 0) {
    return Status(ErrorCode::invalid_argument, "CURVE: cannot derive the public key");
  }
  return std::string(pub);
}

Expected<SocketOptions> curve_client_options(const CurveClientKeys& keys) {
  if (Status s = curve_available(); !s.ok()) return s;
  auto server = decode_key(keys.server_public_key, "the server public key");
  if (!server.ok()) return server.status();
  auto secret = decode_key(keys.client_secret_key, "the client secret key");
  if (!secret.ok()) return secret.status();
  auto public_key = curve_public_key(keys.client_secret_key);
  if (!public_key.ok()) return public_key.status();
  auto pub = decode_key(*public_key, "the client public key");
  if (!pub.ok()) return pub.status();
  return SocketOptions([server = *server, secret = *secret, pub = *pub](zmq::socket_t& socket) {
    socket.set(zmq::sockopt::curve_serverkey, server);
    socket.set(zmq::sockopt::curve_publickey, pub);
    socket.set(zmq::sockopt::curve_secretkey, secret);
  });
}

CurveAuthenticator::CurveAuthenticator(zmq::socket_t handler, std::string secret,
                                       std::set<std::string> allowed)
    : handler_(std::move(handler)), secret_(std::move(secret)), allowed_(std::move(allowed)) {}

Expected<std::unique_ptr<CurveAuthenticator>> CurveAuthenticator::start(zmq::context_t& context,
                                                                        const CurveConfig& config) {
  if (!config.enabled) return Status(ErrorCode::invalid_argument, "CURVE: not enabled");
  if (Status s = curve_available(); !s.ok()) return s;
  auto secret = decode_key(config.server_secret_key, "the server secret key");
  if (!secret.ok()) return secret.status();
  if (config.allowed_client_keys.empty()) {
    return Status(ErrorCode::invalid_argument,
                  "CURVE: list at least one allowed client public key (an empty list would "
                  "admit nobody)");
  }
  std::set<std::string> allowed;
  for (size_t i = 0; i < config.allowed_client_keys.size(); ++i) {
    auto key =
        decode_key(config.allowed_client_keys[i], "allowed client key " + std::to_string(i + 1));
    if (!key.ok()) return key.status();
    allowed.insert(*key);
  }
  zmq::socket_t handler(context, zmq::socket_type::rep);
  try {
    handler.set(zmq::sockopt::linger, 0);
    handler.bind(kZapEndpoint);
  } catch (const zmq::error_t& e) {
    return Status(ErrorCode::io_error,
                  std::string("CURVE: cannot start the ZAP handler: ") + e.what());
  }
  std::unique_ptr<CurveAuthenticator> auth(
      new CurveAuthenticator(std::move(handler), config.server_secret_key, std::move(allowed)));
  auth->thread_ = std::thread([a = auth.get()] { a->run(); });
  return auth;
}

CurveAuthenticator::~CurveAuthenticator() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  handler_.close();
}

void CurveAuthenticator::configure_server(zmq::socket_t& socket) const {
  socket.set(zmq::sockopt::curve_server, true);
  socket.set(zmq::sockopt::curve_secretkey, secret_);
  // Without a domain libzmq skips ZAP for some mechanisms; set one so every peer is checked.
  socket.set(zmq::sockopt::zap_domain, "engram");
}

// ZAP request: [version "1.0"][request id][domain][address][routing id][mechanism][credentials].
// Reply: [version][request id][status code][status text][user id][metadata].
void CurveAuthenticator::run() {
  zmq::pollitem_t item{handler_.handle(), 0, ZMQ_POLLIN, 0};
  std::vector<zmq::message_t> parts;
  while (!stop_) {
    try {
      if (zmq::poll(&item, 1, std::chrono::milliseconds(50)) <= 0) continue;
      parts.clear();
      do {
        zmq::message_t part;
        if (!handler_.recv(part, zmq::recv_flags::none)) break;
        parts.push_back(std::move(part));
      } while (handler_.get(zmq::sockopt::rcvmore) && parts.size() < 16);
      const bool well_formed = parts.size() >= 7 && parts[0].to_string() == "1.0" &&
                               parts[5].to_string() == "CURVE" && parts[6].size() == 32;
      const bool ok = well_formed && allowed_.count(parts[6].to_string()) > 0;
      (ok ? admitted_ : denied_).fetch_add(1);
      const std::string request_id = parts.size() >= 2 ? parts[1].to_string() : std::string();
      const char* code = ok ? "200" : "400";
      const char* text = ok ? "OK" : "client key not allowed";
      handler_.send(zmq::buffer(std::string("1.0")), zmq::send_flags::sndmore);
      handler_.send(zmq::buffer(request_id), zmq::send_flags::sndmore);
      handler_.send(zmq::buffer(std::string(code)), zmq::send_flags::sndmore);
      handler_.send(zmq::buffer(std::string(text)), zmq::send_flags::sndmore);
      handler_.send(zmq::buffer(std::string(ok ? "publisher" : "")), zmq::send_flags::sndmore);
      handler_.send(zmq::message_t(), zmq::send_flags::none);
    } catch (const zmq::error_t&) {
      if (stop_) break;
    }
  }
}

}  // namespace engram
