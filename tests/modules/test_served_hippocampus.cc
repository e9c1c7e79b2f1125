// The hippocampus served by a process of its own, without torch: endpoint scopes, the served
// actor (adopt, requests before adopt, heartbeats with its counters), the heartbeat monitor
// (a lost module named within its timeout) and CURVE on the link (a wrong key refused, counted
// and reported at once).
#include <doctest/doctest.h>

#include <chrono>
#include <random>
#include <sstream>
#include <thread>

#include "io/sensors/curve_auth.h"
#include "modules/actors/messages.h"
#include "modules/actors/served_hippocampus.h"
#include "runtime/actor_host.h"
#include "runtime/endpoint_scope.h"
#include "runtime/heartbeat_monitor.h"

using namespace engram;
using namespace std::chrono_literals;

namespace {

CodeBuffer small_buffer() {
  CodeBufferConfig c;
  c.c = 4;
  c.l = 4;
  c.num_classes = 2;
  c.num_tasks = 1;
  c.budget_bytes = 1000;
  c.seed = 3;
  auto b = CodeBuffer::create(c);
  REQUIRE(b.ok());
  return std::move(*b);
}

Message adopt_message(const CodeBuffer& buffer, const std::mt19937_64& rng) {
  Message m;
  m.header.type = msg::kAdopt;
  auto bytes = buffer.serialize();
  std::ostringstream text;
  text << rng;
  const std::string t = text.str();
  add_payload(m, {DType::u8, {static_cast<int64_t>(bytes.size())}},
              make_payload_copy(bytes.data(), bytes.size()));
  add_payload(m, {DType::u8, {static_cast<int64_t>(t.size())}},
              make_payload_copy(t.data(), t.size()));
  return m;
}

Message request(zmq::socket_t& s, Message m) {
  REQUIRE(send_message(s, std::move(m)).ok());
  zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
  REQUIRE(zmq::poll(&item, 1, 5000ms) == 1);
  auto reply = recv_message(s);
  REQUIRE(reply.ok());
  return std::move(*reply);
}

Message of_type(const char* type) {
  Message m;
  m.header.type = type;
  return m;
}

// Waits up to `limit` for `done()`.
template <typename F>
bool eventually(F done, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

}  // namespace

TEST_CASE("endpoint_scope: loopback, network, malformed") {
  CHECK(endpoint_scope("inproc://x", false).value() == EndpointScope::process);
  CHECK(endpoint_scope("ipc:///tmp/x", false).value() == EndpointScope::machine);
  CHECK(endpoint_scope("tcp://127.0.0.1:5701", false).value() == EndpointScope::machine);
  CHECK(endpoint_scope("tcp://localhost:5701", false).value() == EndpointScope::machine);
  CHECK(endpoint_scope("tcp://[::1]:5701", false).value() == EndpointScope::machine);
  CHECK(endpoint_scope("tcp://127.0.0.1:*", true).value() == EndpointScope::machine);
  CHECK(endpoint_scope("tcp://10.0.0.7:5701", false).value() == EndpointScope::network);
  CHECK(endpoint_scope("tcp://0.0.0.0:5701", true).value() == EndpointScope::network);
  CHECK(endpoint_scope("tcp://*:5701", true).value() == EndpointScope::network);
  CHECK(endpoint_scope("tcp://eth0:5701", true).value() == EndpointScope::network);
  for (const char* bad : {"", "udp://x:1", "tcp://host", "tcp://:5", "tcp://h:0x1", "tcp://h:70000",
                          "tcp://h:0", "inproc://", "ipc://"}) {
    auto s = endpoint_scope(bad, false);
    CHECK_MESSAGE(!s.ok(), bad);
    if (!s.ok()) CHECK(s.status().message().find("endpoint \"") == 0);
  }
  CHECK(!endpoint_scope("tcp://127.0.0.1:*", false).ok());  // a peer needs a real port
}

TEST_CASE("served hippocampus: refuses requests before adopt, then serves the adopted state") {
  HostConfig hc;
  hc.endpoints["hippocampus"] = "tcp://127.0.0.1:*";
  ActorHost host(hc);
  REQUIRE(
      host.add(std::make_unique<ServedModule>(served_hippocampus_spec(), SocketOptions(), nullptr))
          .ok());
  REQUIRE(host.start_all().ok());
  const std::string ep = host.endpoint("hippocampus");
  REQUIRE(ep.rfind("tcp://127.0.0.1:", 0) == 0);
  zmq::socket_t driver = host.make_socket(zmq::socket_type::dealer);
  driver.connect(ep);

  Message pong = request(driver, of_type(kPing));
  CHECK(pong.header.type == kPong);
  CHECK(pong.header.strings["module"] == "hippocampus");
  CHECK(pong.header.ints["adopted"] == 0);

  Message early = request(driver, of_type(msg::kGetStats));
  CHECK(early.header.type == msg::kError);
  CHECK(early.header.strings["error"].find("before any driver sent") != std::string::npos);

  Message bad = of_type(msg::kAdopt);
  CHECK(request(driver, std::move(bad)).header.type == msg::kError);

  CodeBuffer buffer = small_buffer();
  const uint32_t codes[8] = {0, 1, 2, 3, 3, 2, 1, 0};
  const int32_t labels[2] = {0, 1}, tasks[2] = {0, 0};
  REQUIRE(buffer.insert_batch(codes, labels, tasks, 2).ok());
  CHECK(request(driver, adopt_message(buffer, std::mt19937_64(7))).header.type == msg::kDone);
  Message stats = request(driver, of_type(msg::kGetStats));
  REQUIRE(stats.header.type == msg::kStats);
  CHECK(stats.header.ints["size"] == 2);
  CHECK(stats.header.ints["seen"] == 2);

  Message after = request(driver, of_type(kPing));
  CHECK(after.header.ints["adopted"] == 1);
  CHECK(after.header.ints["messages_in"] >= 6);
  CHECK(after.header.ints["bytes_in"] > 0);
  CHECK(after.header.ints["errors"] == 2);  // the early request and the bad adopt
  driver.close();
}

TEST_CASE("heartbeat monitor: answers while the module runs, names it soon after it stops") {
  HostConfig hc;
  hc.endpoints["hippocampus"] = "tcp://127.0.0.1:*";
  ActorHost host(hc);
  REQUIRE(
      host.add(std::make_unique<ServedModule>(served_hippocampus_spec(), SocketOptions(), nullptr))
          .ok());
  REQUIRE(host.start_all().ok());
  HeartbeatConfig c;
  c.module = "hippocampus";
  c.endpoint = host.endpoint("hippocampus");
  c.interval = 20ms;
  c.timeout = 300ms;
  auto monitor = HeartbeatMonitor::start(c);
  REQUIRE(monitor.ok());
  CHECK(eventually([&] { return (*monitor)->answered(); }, 3000ms));
  std::this_thread::sleep_for(400ms);
  CHECK((*monitor)->failure().empty());
  CHECK((*monitor)->last_report().count("bytes_out") == 1);

  const auto stopped = std::chrono::steady_clock::now();
  REQUIRE(host.stop_all().ok());
  CHECK(eventually([&] { return !(*monitor)->failure().empty(); }, 3000ms));
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - stopped).count();
  CHECK(took < 1.5);
  const std::string why = (*monitor)->failure();
  CHECK(why.find("module 'hippocampus' at tcp://127.0.0.1:") == 0);
  CHECK(why.find("no heartbeat answer") != std::string::npos);

  c.module = "association";  // the process there serves another module
  REQUIRE(host.start_all().ok());
  c.endpoint = host.endpoint("hippocampus");
  auto wrong = HeartbeatMonitor::start(c);
  REQUIRE(wrong.ok());
  CHECK(eventually([&] { return !(*wrong)->failure().empty(); }, 3000ms));
  CHECK((*wrong)->failure().find("serves 'hippocampus', not 'association'") != std::string::npos);

  c.timeout = 10ms;
  CHECK(!HeartbeatMonitor::start(c).ok());  // timeout below two intervals
}

TEST_CASE("CURVE on the link: the allowed key is served, another is refused, counted, named") {
  if (zmq_has("curve") == 0) return;
  auto server = curve_keypair();
  auto client = curve_keypair();
  auto intruder = curve_keypair();
  REQUIRE((server.ok() && client.ok() && intruder.ok()));
  HostConfig hc;
  hc.endpoints["hippocampus"] = "tcp://127.0.0.1:*";
  ActorHost host(hc);
  CurveConfig cc;
  cc.enabled = true;
  cc.server_secret_key = server->second;
  cc.allowed_client_keys = {client->first};
  auto auth = CurveAuthenticator::start(host.context(), cc);
  REQUIRE(auth.ok());
  CurveAuthenticator* a = auth->get();
  REQUIRE(host.add(std::make_unique<ServedModule>(
                       served_hippocampus_spec(), [a](zmq::socket_t& s) { a->configure_server(s); },
                       [a] { return a->denied(); }))
              .ok());
  REQUIRE(host.start_all().ok());
  HeartbeatConfig c;
  c.module = "hippocampus";
  c.endpoint = host.endpoint("hippocampus");
  c.interval = 20ms;
  c.timeout = 2000ms;

  auto good_keys = curve_client_options({server->first, client->second});
  REQUIRE(good_keys.ok());
  c.options = *good_keys;
  auto good = HeartbeatMonitor::start(c);
  REQUIRE(good.ok());
  CHECK(eventually([&] { return (*good)->answered(); }, 3000ms));

  auto bad_keys = curve_client_options({server->first, intruder->second});
  REQUIRE(bad_keys.ok());
  c.options = *bad_keys;
  auto bad = HeartbeatMonitor::start(c);
  REQUIRE(bad.ok());
  CHECK(eventually([&] { return !(*bad)->failure().empty(); }, 1500ms));
  CHECK((*bad)->failure().find("refused this process's CURVE key") != std::string::npos);
  CHECK(!(*bad)->answered());
  CHECK(a->denied() >= 1);
  CHECK(eventually([&] { return (*good)->last_report()["curve_denied"] >= 1; }, 2000ms));
  CHECK((*good)->failure().empty());

  CHECK(!curve_client_options({"short", client->second}).ok());
  good->reset();
  bad->reset();
  (void)host.stop_all();
  auth->reset();
}
