// The served-module wrapper and the driver's relay, without torch: a module actor served by a
// ServedModule reaches its peers only through the driver (kLink, then messages tagged with the
// peer), each path keeps its order, replies come back to the asker, pushes reach the driver,
// and messages sent before the link wait for it.
#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include "modules/actors/hippocampus_actor.h"
#include "modules/actors/messages.h"
#include "modules/actors/module_relay.h"
#include "modules/actors/served_module.h"
#include "runtime/actor_host.h"
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

// A module that stores codes in the hippocampus ("store", ints n: n one-code kStores, no
// reply), then counts them ("count": asks the hippocampus's stats, replies kStats with ints seen
// and pushes the same to the driver).
class Asker final : public ActorBehavior {
 public:
  std::string name() const override { return "asker"; }
  Status start(ActorContext& ctx) override {
    inbox_ = ctx.add_socket(zmq::socket_type::router, true);
    if (Status s = ctx.bind(inbox_, ctx.own_endpoint()); !s.ok()) return s;
    hippocampus_ = ctx.add_socket(zmq::socket_type::dealer, false);
    if (Status s = ctx.connect(hippocampus_, ctx.endpoint_of("hippocampus")); !s.ok()) return s;
    driver_ = ctx.add_socket(zmq::socket_type::push, false);
    return ctx.connect(driver_, ctx.endpoint_of("driver"));
  }
  Status on_message(ActorContext& ctx, SocketId from, std::optional<std::string> id,
                    Message&& msg) override {
    if (msg.header.type == "fail") return Status(ErrorCode::invalid_argument, "failed on purpose");
    if (msg.header.type == "store") {
      for (int64_t i = 0; i < msg.header.ints["n"]; ++i) {
        Message store;
        store.header.type = msg::kStore;
        const uint8_t codes[4] = {1, 2, 3, static_cast<uint8_t>(i % 4)};
        const int32_t label = static_cast<int32_t>(i % 2), task = 0;
        add_payload(store, {DType::u8, {1, 4}}, make_payload_copy(codes, 4));
        add_payload(store, {DType::i32, {1}}, make_payload_copy(&label, 4));
        add_payload(store, {DType::i32, {1}}, make_payload_copy(&task, 4));
        if (Status s = ctx.send(hippocampus_, std::move(store)); !s.ok()) return s;
      }
      return Status();
    }
    Message ask;
    ask.header.type = msg::kGetStats;
    if (Status s = ctx.send(hippocampus_, std::move(ask)); !s.ok()) return s;
    if (Status s = ctx.wait_readable(hippocampus_, 5000ms); !s.ok()) return s;
    auto stats = recv_message(ctx.socket(hippocampus_));
    if (!stats.ok()) return stats.status();
    if (stats->header.strings.count(msg::kRelayKey)) {
      return Status(ErrorCode::internal, "the relay tag reached the module's actor");
    }
    Message pushed;
    pushed.header.type = "counted";
    pushed.header.ints["seen"] = stats->header.ints["seen"];
    if (Status s = ctx.send(driver_, std::move(pushed)); !s.ok()) return s;
    Message reply;
    reply.header.type = msg::kStats;
    reply.header.ints["seen"] = stats->header.ints["seen"];
    return ctx.send_to(from, id.value_or(""), std::move(reply));
  }

 private:
  SocketId inbox_ = 0, hippocampus_ = 0, driver_ = 0;
};

Message of_type(const char* type) {
  Message m;
  m.header.type = type;
  return m;
}

Expected<Message> receive(zmq::socket_t& s, std::chrono::milliseconds limit = 5000ms) {
  zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
  if (zmq::poll(&item, 1, limit) != 1) return Status(ErrorCode::timeout, "no message");
  return recv_message(s);
}

}  // namespace

TEST_CASE("served module: its peers are reached through the driver's relay, in order") {
  // The served process: the wrapper around an Asker built at kAdopt.
  HostConfig served_config;
  served_config.endpoints["asker"] = "tcp://127.0.0.1:*";
  ActorHost served(served_config);
  ServedModuleSpec spec;
  spec.name = "asker";
  spec.adopt = [](const Message& m) -> Expected<std::unique_ptr<ActorBehavior>> {
    if (m.header.ints.count("refuse")) return Status(ErrorCode::malformed, "refused on purpose");
    return std::unique_ptr<ActorBehavior>(std::make_unique<Asker>());
  };
  spec.request_peers = {"hippocampus"};
  spec.push_peers = {"driver"};
  REQUIRE(served.add(std::make_unique<ServedModule>(spec, SocketOptions(), nullptr)).ok());
  REQUIRE(served.start_all().ok());
  const std::string endpoint = served.endpoint("asker");

  // The driver's process: a local hippocampus, the relay, the driver's PULL and DEALER.
  HostConfig driver_config;
  driver_config.endpoints["asker"] = endpoint;
  ActorHost driver(driver_config);
  zmq::socket_t progress = driver.make_socket(zmq::socket_type::pull);
  REQUIRE(driver.bind_driver(progress, "driver").ok());
  REQUIRE(driver.add(std::make_unique<HippocampusActor>(small_buffer(), 5)).ok());
  zmq::socket_t to_asker = driver.make_socket(zmq::socket_type::dealer);
  to_asker.connect(endpoint);

  Message early = of_type("count");
  REQUIRE(send_message(to_asker, std::move(early)).ok());
  auto refused = receive(to_asker);
  REQUIRE(refused.ok());
  CHECK(refused->header.type == msg::kError);
  CHECK(refused->header.strings["error"].find("before any driver sent the asker's state") !=
        std::string::npos);
  Message bad = of_type(msg::kAdopt);
  bad.header.ints["refuse"] = 1;
  REQUIRE(send_message(to_asker, std::move(bad)).ok());
  auto bad_reply = receive(to_asker);
  REQUIRE(bad_reply.ok());
  CHECK(bad_reply->header.type == msg::kError);
  CHECK(bad_reply->header.strings["error"] == "asker: refused on purpose");

  REQUIRE(send_message(to_asker, of_type(msg::kAdopt)).ok());
  auto adopted = receive(to_asker);
  REQUIRE(adopted.ok());
  CHECK(adopted->header.type == msg::kDone);

  // Stores and a count before any relay link: they wait in the served process, in order.
  Message store = of_type("store");
  store.header.ints["n"] = 25;
  REQUIRE(send_message(to_asker, std::move(store)).ok());
  REQUIRE(send_message(to_asker, of_type("count")).ok());
  CHECK(!receive(to_asker, 300ms).ok());  // the asker waits for the hippocampus's answer

  auto relay = std::make_unique<ModuleRelay>(
      std::map<std::string, std::vector<std::string>>{{"asker", {"hippocampus", "driver"}}});
  ModuleRelay* r = relay.get();
  REQUIRE(driver.add(std::move(relay)).ok());
  REQUIRE(driver.start_all().ok());
  CHECK(!receive(to_asker, 300ms).ok());  // no link before the driver asks the relay for one
  zmq::socket_t to_relay = driver.make_socket(zmq::socket_type::dealer);
  to_relay.connect(driver.endpoint("relay"));
  REQUIRE(send_message(to_relay, of_type(msg::kLink)).ok());
  auto linked = receive(to_relay);
  REQUIRE(linked.ok());
  CHECK(linked->header.type == msg::kDone);
  to_relay.close();
  auto counted = receive(to_asker);
  REQUIRE(counted.ok());
  REQUIRE(counted->header.type == msg::kStats);
  CHECK(counted->header.ints["seen"] == 25);  // every store reached the hippocampus first
  auto pushed = receive(progress);
  REQUIRE(pushed.ok());
  CHECK(pushed->header.type == "counted");
  CHECK(pushed->header.ints["seen"] == 25);
  CHECK(pushed->header.strings.count(msg::kRelayKey) == 0);

  // Later requests take the same ordered path.
  store = of_type("store");
  store.header.ints["n"] = 7;
  REQUIRE(send_message(to_asker, std::move(store)).ok());
  REQUIRE(send_message(to_asker, of_type("count")).ok());
  counted = receive(to_asker);
  REQUIRE(counted.ok());
  CHECK(counted->header.ints["seen"] == 32);
  CHECK(receive(progress).ok());
  CHECK(r->relayed() == 25 + 1 + 1 + 1 + 7 + 1 + 1 + 1);  // stores, asks, answers, pushes

  Message pong = of_type(kPing);
  REQUIRE(send_message(to_asker, std::move(pong)).ok());
  auto answered = receive(to_asker);
  REQUIRE(answered.ok());
  CHECK(answered->header.type == kPong);
  CHECK(answered->header.strings["module"] == "asker");
  CHECK(answered->header.ints["adopted"] == 1);
  CHECK(answered->header.ints["errors"] == 2);         // the early count and the refused adopt
  CHECK(answered->header.ints["module_errors"] == 0);  // the module itself never failed
  auto monitor_config = [&] {
    HeartbeatConfig c;
    c.module = "asker";
    c.endpoint = endpoint;
    c.interval = 50ms;
    c.timeout = 5000ms;
    return c;
  };
  auto healthy = HeartbeatMonitor::start(monitor_config());
  REQUIRE(healthy.ok());

  // The module's actor fails on a message: the next heartbeat answer says so, and a monitor
  // declares the module failed, with the actor's error (a driver stops, as for a local actor).
  REQUIRE(send_message(to_asker, of_type("fail")).ok());
  auto watched = HeartbeatMonitor::start(monitor_config());
  REQUIRE(watched.ok());
  // Both monitors poll on their own schedule: wait until each has seen the failure.
  for (int i = 0; i < 100 && ((*watched)->failure().empty() || (*healthy)->failure().empty()); ++i)
    std::this_thread::sleep_for(50ms);
  CHECK((*watched)->failure().find("module 'asker' at " + endpoint + ": its actor failed: ") !=
        std::string::npos);
  CHECK((*watched)->failure().find("failed on purpose") != std::string::npos);
  CHECK((*healthy)->failure() == (*watched)->failure());
  CHECK((*watched)->last_report()["module_errors"] == 1);
  to_asker.close();
  progress.close();
  CHECK(driver.stop_all().ok());
  CHECK(served.stop_all().ok());
}
