// CURVE on the sensor bridge: an allowed publisher's frames arrive encrypted; a publisher with
// an unknown key, or without CURVE, gets nothing through; bad keys are configuration errors.
#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include "io/sensors/sensor_bridge.h"

using namespace engram;
using namespace std::chrono_literals;

namespace {

SensorFrame frame(const std::string& source, uint64_t seq) {
  SensorFrame f;
  f.topic = "camera";
  f.source = source;
  f.seq = seq;
  f.encoding = SensorEncoding::u8;
  f.shape = {28, 28};
  f.label = 1;
  f.task = 0;
  f.payload.assign(784, 'x');
  return f;
}

// A PUSH publisher; with CURVE when server_public is non-empty.
zmq::socket_t publisher(zmq::context_t& ctx, const std::string& endpoint,
                        const std::string& server_public = "",
                        const std::pair<std::string, std::string>& keys = {}) {
  zmq::socket_t s(ctx, zmq::socket_type::push);
  s.set(zmq::sockopt::linger, 0);
  if (!server_public.empty()) {
    s.set(zmq::sockopt::curve_serverkey, server_public);
    s.set(zmq::sockopt::curve_publickey, keys.first);
    s.set(zmq::sockopt::curve_secretkey, keys.second);
  }
  s.connect(endpoint);
  return s;
}

// Never blocks: a PUSH socket whose only peer refused it has no pipe to queue into, and a
// blocking send would wait forever. Once the first part is taken the rest are too (multipart
// messages are atomic).
void send(zmq::socket_t& s, const SensorFrame& f) {
  auto parts = encode_sensor_frame(f);
  for (size_t i = 0; i < parts.size(); ++i) {
    const auto flags = i + 1 < parts.size() ? zmq::send_flags::sndmore | zmq::send_flags::dontwait
                                            : zmq::send_flags::dontwait;
    if (!s.send(parts[i], flags)) return;  // no room or no peer: this frame is not sent
  }
}

}  // namespace

TEST_CASE("CURVE: only allowed publisher keys get frames through") {
  auto server = curve_keypair();
  auto allowed = curve_keypair();
  auto stranger = curve_keypair();
  REQUIRE(server.ok());
  REQUIRE(allowed.ok());
  REQUIRE(stranger.ok());
  SensorBridgeConfig cfg;
  cfg.endpoint = "tcp://127.0.0.1:0";
  cfg.limits.expected_values = 784;
  cfg.curve.enabled = true;
  cfg.curve.server_secret_key = server->second;
  cfg.curve.allowed_client_keys = {allowed->first};
  auto bridge = SensorBridge::start(cfg);
  REQUIRE(bridge.ok());
  const std::string endpoint = (*bridge)->endpoint();

  zmq::context_t ctx;
  zmq::socket_t good = publisher(ctx, endpoint, server->first, *allowed);
  zmq::socket_t bad = publisher(ctx, endpoint, server->first, *stranger);
  zmq::socket_t plain = publisher(ctx, endpoint);
  std::vector<SensorFrame> got;
  // Keep sending from all three until the allowed publisher's frames arrive.
  for (uint64_t seq = 0; seq < 200 && got.size() < 5; ++seq) {
    send(good, frame("good", seq));
    send(bad, frame("bad", seq));
    send(plain, frame("plain", seq));
    (*bridge)->pop(&got, 100, 20ms);
  }
  std::this_thread::sleep_for(200ms);
  (*bridge)->pop(&got, 1000, 10ms);
  REQUIRE(got.size() >= 5);
  for (const SensorFrame& f : got) CHECK(f.source == "good");
  const SensorCounters c = (*bridge)->counters();
  CHECK(c.auth_denied >= 1);  // the stranger's handshake was refused
  CHECK(c.malformed == 0);    // refused peers never reach frame decoding
}

TEST_CASE("CURVE: configuration errors name the problem") {
  auto server = curve_keypair();
  REQUIRE(server.ok());
  SensorBridgeConfig cfg;
  cfg.endpoint = "tcp://127.0.0.1:0";
  cfg.curve.enabled = true;
  cfg.curve.server_secret_key = server->second;
  auto none = SensorBridge::start(cfg);  // no allowed keys
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().message().find("allowed client") != std::string::npos);
  cfg.curve.allowed_client_keys = {"too short"};
  auto short_key = SensorBridge::start(cfg);
  REQUIRE_FALSE(short_key.ok());
  CHECK(short_key.status().message().find("allowed client key 1") != std::string::npos);
  cfg.curve.allowed_client_keys = {server->first};
  cfg.curve.server_secret_key = std::string(40, '~');  // right length, not Z85 of a key
  auto bad_secret = SensorBridge::start(cfg);
  REQUIRE_FALSE(bad_secret.ok());
  CHECK(bad_secret.status().message().find("secret key") != std::string::npos);
  auto pub = curve_public_key(server->second);
  REQUIRE(pub.ok());
  CHECK(*pub == server->first);
}
