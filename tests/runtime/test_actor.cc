// Actors and the host: handshake, poll loop, wiring, error containment, shutdown.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "runtime/actor.h"
#include "runtime/actor_host.h"

using namespace engram;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Waits up to 5 s for `pred`.
template <typename Pred>
bool eventually(Pred pred) {
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return pred();
}

Message make_msg(const std::string& type, int64_t n = 0, size_t payload_bytes = 0) {
  Message m;
  m.header.type = type;
  m.header.ints["n"] = n;
  if (payload_bytes > 0) {
    std::vector<uint8_t> bytes(payload_bytes);
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 7 + n);
    add_payload(m, {DType::u8, {static_cast<int64_t>(payload_bytes)}},
                make_payload_copy(bytes.data(), bytes.size()));
  }
  return m;
}

// ROUTER on its own endpoint; answers "ping" with "pong" carrying the same ints and payloads.
// "throw", "zmq" and "status" make the handler fail in three ways; "quit" ends the loop.
class Echo : public ActorBehavior {
 public:
  explicit Echo(std::string name = "echo") : name_(std::move(name)) {}
  std::string name() const override { return name_; }
  Status start(ActorContext& ctx) override {
    sock_ = ctx.add_socket(zmq::socket_type::router, true);
    return ctx.bind(sock_, ctx.own_endpoint());
  }
  Status on_message(ActorContext& ctx, SocketId from, std::optional<std::string> rid,
                    Message&& msg) override {
    REQUIRE(from == sock_);
    REQUIRE(rid.has_value());
    const std::string& type = msg.header.type;
    if (type == "throw") throw std::runtime_error("boom from handler");
    if (type == "zmq") throw zmq::error_t();
    if (type == "status") return Status(ErrorCode::internal, "handler said no");
    if (type == "quit") {
      ctx.request_stop();
      return Status();
    }
    Message reply;
    reply.header.type = "pong";
    reply.header.ints = msg.header.ints;
    reply.header.payloads = msg.header.payloads;
    reply.payloads = std::move(msg.payloads);
    return ctx.send_to(sock_, *rid, std::move(reply));
  }

 private:
  std::string name_;
  SocketId sock_ = 0;
};

// DEALER to `peer` through the host wiring: sends `rounds` pings one after another.
class Pinger : public ActorBehavior {
 public:
  Pinger(std::string peer, int rounds, std::shared_ptr<std::atomic<int>> done)
      : peer_(std::move(peer)), rounds_(rounds), done_(std::move(done)) {}
  std::string name() const override { return "pinger"; }
  Status start(ActorContext& ctx) override {
    sock_ = ctx.add_socket(zmq::socket_type::dealer, false);
    Status st = ctx.connect(sock_, ctx.endpoint_of(peer_));
    if (!st.ok()) return st;
    sent_ = 1;
    return ctx.send(sock_, make_msg("ping", 1, 16));
  }
  Status on_message(ActorContext& ctx, SocketId, std::optional<std::string> rid,
                    Message&& msg) override {
    CHECK_FALSE(rid.has_value());
    if (msg.header.type != "pong" || msg.header.ints.at("n") != sent_) {
      return Status(ErrorCode::malformed, "unexpected reply");
    }
    done_->fetch_add(1);
    if (sent_ == rounds_) return Status();
    ++sent_;
    return ctx.send(sock_, make_msg("ping", sent_, 16));
  }

 private:
  std::string peer_;
  int rounds_;
  int sent_ = 0;
  std::shared_ptr<std::atomic<int>> done_;
  SocketId sock_ = 0;
};

class FailingStart : public ActorBehavior {
 public:
  explicit FailingStart(bool do_throw) : throw_(do_throw) {}
  std::string name() const override { return "camera"; }
  Status start(ActorContext& ctx) override {
    SocketId s = ctx.add_socket(zmq::socket_type::router, true);
    (void)ctx.bind(s, ctx.own_endpoint());  // closed again when start fails
    if (throw_) throw std::runtime_error("no gpu in this box");
    return Status(ErrorCode::io_error, "camera unplugged");
  }
  Status on_message(ActorContext&, SocketId, std::optional<std::string>, Message&&) override {
    return Status();
  }

 private:
  bool throw_;
};

// A DEALER to driver-chosen endpoint; every "go" on its ROUTER makes it send `burst` messages
// there. With a peer that is gone (or never was), the sends back up and block.
class Forwarder : public ActorBehavior {
 public:
  Forwarder(std::string target, int burst, std::shared_ptr<std::atomic<int>> failed)
      : target_(std::move(target)), burst_(burst), failed_(std::move(failed)) {}
  std::string name() const override { return "forwarder"; }
  Status start(ActorContext& ctx) override {
    control_ = ctx.add_socket(zmq::socket_type::router, true);
    out_ = ctx.add_socket(zmq::socket_type::dealer, false);
    ctx.socket(out_).set(zmq::sockopt::sndhwm, 4);
    ctx.socket(out_).set(zmq::sockopt::immediate, true);
    Status st = ctx.bind(control_, ctx.own_endpoint());
    return st.ok() ? ctx.connect(out_, target_) : st;
  }
  Status on_message(ActorContext& ctx, SocketId, std::optional<std::string>, Message&&) override {
    for (int i = 0; i < burst_; ++i) {
      Status st = ctx.send(out_, make_msg("data", i, 1000));
      if (!st.ok()) {
        failed_->fetch_add(1);
        return st;
      }
    }
    return Status();
  }

 private:
  std::string target_;
  int burst_;
  std::shared_ptr<std::atomic<int>> failed_;
  SocketId control_ = 0;
  SocketId out_ = 0;
};

// A driver DEALER on the host's context (what the Lua thread does).
zmq::socket_t driver(ActorHost& host, const std::string& actor) {
  zmq::socket_t sock = host.make_socket(zmq::socket_type::dealer);
  sock.set(zmq::sockopt::rcvtimeo, 5000);
  sock.connect(host.endpoint(actor));
  return sock;
}

void ping_pong(zmq::socket_t& sock, int rounds, size_t payload_bytes) {
  for (int i = 1; i <= rounds; ++i) {
    REQUIRE(send_message(sock, make_msg("ping", i, payload_bytes)).ok());
    Expected<Message> reply = recv_message(sock);
    REQUIRE_MESSAGE(reply.ok(), reply.status().to_string());
    REQUIRE(reply->header.type == "pong");
    REQUIRE(reply->header.ints.at("n") == i);
    REQUIRE(reply->header.source == "echo");
    if (payload_bytes > 0) {
      REQUIRE(reply->payloads.size() == 1);
      Message expect = make_msg("ping", i, payload_bytes);
      REQUIRE(reply->payloads[0].to_string() == expect.payloads[0].to_string());
    }
  }
}

}  // namespace

TEST_CASE("ping-pong with a driver DEALER over inproc and tcp") {
  for (const std::string ep : {"", "tcp://127.0.0.1:*"}) {
    CAPTURE(ep);
    HostConfig config;
    if (!ep.empty()) config.endpoints["echo"] = ep;
    ActorHost host(config);
    REQUIRE(host.add(std::make_unique<Echo>()).ok());
    REQUIRE(host.start_all().ok());
    const std::string resolved = host.endpoint("echo");
    if (ep.empty()) {
      CHECK(resolved == "inproc://echo");
    } else {
      CHECK(resolved.rfind("tcp://127.0.0.1:", 0) == 0);
      CHECK(resolved.find('*') == std::string::npos);
    }
    zmq::socket_t sock = driver(host, "echo");
    ping_pong(sock, 1000, 784);
    // The actor counts a reply just after sending it.
    CHECK(eventually([&] { return host.counters()[0].messages_out == 1000; }));
    std::vector<CounterSnapshot> c = host.counters();
    REQUIRE(c.size() == 1);
    CHECK(c[0].actor == "echo");
    CHECK(c[0].messages_in == 1000);
    CHECK(c[0].messages_out == 1000);
    CHECK(c[0].bytes_in > 1000 * 784);
    CHECK(c[0].bytes_out > 1000 * 784);
    CHECK(c[0].errors == 0);
    CHECK(c[0].drops == 0);
    CHECK(host.failures().empty());
    CHECK(host.stop_all().ok());
  }
}

TEST_CASE("two actors talk through the host wiring") {
  for (const std::string ep : {"", "tcp://127.0.0.1:*", "ipc:///tmp/engram-test-echo.ipc"}) {
    CAPTURE(ep);
    HostConfig config;
    if (!ep.empty()) config.endpoints["echo"] = ep;
    ActorHost host(config);
    auto done = std::make_shared<std::atomic<int>>(0);
    REQUIRE(host.add(std::make_unique<Echo>()).ok());
    REQUIRE(host.add(std::make_unique<Pinger>("echo", 500, done)).ok());
    REQUIRE(host.start_all().ok());
    CHECK(eventually([&] { return done->load() == 500; }));
    std::vector<CounterSnapshot> c = host.counters();
    CHECK(c[1].actor == "pinger");
    CHECK(c[1].messages_out == 500);
    CHECK(eventually([&] { return host.counters()[1].messages_in == 500; }));
    CHECK(host.failures().empty());
  }
}

TEST_CASE("start and stop 100 times, fresh and restarted hosts") {
  const auto t0 = Clock::now();
  for (int i = 0; i < 50; ++i) {
    ActorHost host;
    REQUIRE(host.add(std::make_unique<Echo>()).ok());
    REQUIRE(
        host.add(std::make_unique<Pinger>("echo", 3, std::make_shared<std::atomic<int>>())).ok());
    REQUIRE(host.start_all().ok());
    if (i % 2 == 0) {
      zmq::socket_t sock = driver(host, "echo");
      ping_pong(sock, 1, 8);
    }
    REQUIRE(host.stop_all().ok());
    REQUIRE(host.stop_all().ok());  // idempotent
  }
  ActorHost host;
  REQUIRE(host.add(std::make_unique<Echo>()).ok());
  for (int i = 0; i < 50; ++i) {
    REQUIRE(host.start_all().ok());
    REQUIRE(host.start_all().ok());  // no-op while running
    zmq::socket_t sock = driver(host, "echo");
    ping_pong(sock, 1, 0);
    REQUIRE(host.stop_all().ok());
  }
  CHECK(host.counters()[0].messages_in == 50);
  MESSAGE("100 start/stop cycles took " << seconds_since(t0) << " s");
  CHECK(seconds_since(t0) < 10.0);
}

TEST_CASE("handler failures are counted, reported, and the actor keeps serving") {
  ActorHost host;
  REQUIRE(host.add(std::make_unique<Echo>()).ok());
  REQUIRE(host.start_all().ok());
  zmq::socket_t sock = driver(host, "echo");
  REQUIRE(send_message(sock, make_msg("throw")).ok());
  ping_pong(sock, 1, 4);
  CHECK(host.counters()[0].errors == 1);
  REQUIRE(host.failures().size() == 1);
  CHECK(host.failures()[0].find("echo: ") == 0);
  CHECK(host.failures()[0].find("boom from handler") != std::string::npos);
  REQUIRE(send_message(sock, make_msg("zmq")).ok());
  REQUIRE(send_message(sock, make_msg("status")).ok());
  ping_pong(sock, 1, 4);
  CHECK(host.counters()[0].errors == 3);
  CHECK(host.failures()[0].find("handler said no") != std::string::npos);
  // Malformed input: counted as error and drop, the next message is served.
  REQUIRE(sock.send(zmq::str_buffer("ping"), zmq::send_flags::sndmore));
  REQUIRE(sock.send(zmq::str_buffer("\xc1 not msgpack"), zmq::send_flags::none));
  ping_pong(sock, 1, 4);
  CounterSnapshot c = host.counters()[0];
  CHECK(c.errors == 4);
  CHECK(c.drops == 1);
  CHECK(host.failures()[0].find("malformed") != std::string::npos);
  const auto t0 = Clock::now();
  CHECK(host.stop_all().ok());
  CHECK(seconds_since(t0) < 1.0);
}

TEST_CASE("a failing start makes start_all fail with its message") {
  for (bool do_throw : {false, true}) {
    CAPTURE(do_throw);
    ActorHost host;
    auto done = std::make_shared<std::atomic<int>>(0);
    REQUIRE(host.add(std::make_unique<Echo>()).ok());
    REQUIRE(host.add(std::make_unique<FailingStart>(do_throw)).ok());
    Status st = host.start_all();
    REQUIRE_FALSE(st.ok());
    CHECK(st.message().find("camera") != std::string::npos);
    CHECK(st.message().find(do_throw ? "no gpu in this box" : "camera unplugged") !=
          std::string::npos);
    CHECK(st.code() == (do_throw ? ErrorCode::internal : ErrorCode::io_error));
    CHECK_FALSE(host.running());
    // The echo actor was stopped again: its endpoint is free for a fresh actor.
    ActorHost again;
    REQUIRE(again.add(std::make_unique<Echo>()).ok());
    CHECK(again.start_all().ok());
  }
}

TEST_CASE("wiring errors, add validation, start timeout") {
  ActorHost host;
  CHECK(host.add(nullptr).code() == ErrorCode::invalid_argument);
  REQUIRE(host.add(std::make_unique<Echo>()).ok());
  CHECK(host.add(std::make_unique<Echo>()).code() == ErrorCode::invalid_argument);
  CHECK(host.add(std::make_unique<Echo>("")).code() == ErrorCode::invalid_argument);
  REQUIRE(
      host.add(std::make_unique<Pinger>("nobody", 1, std::make_shared<std::atomic<int>>())).ok());
  Status st = host.start_all();
  CHECK(st.code() == ErrorCode::not_found);
  CHECK(host.endpoint("nobody").empty());

  class Slow : public ActorBehavior {
   public:
    std::string name() const override { return "slow"; }
    Status start(ActorContext&) override {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      return Status();
    }
    Status on_message(ActorContext&, SocketId, std::optional<std::string>, Message&&) override {
      return Status();
    }
  };
  HostConfig config;
  config.start_timeout = std::chrono::milliseconds(20);
  ActorHost slow_host(config);
  REQUIRE(slow_host.add(std::make_unique<Slow>()).ok());
  CHECK(slow_host.start_all().code() == ErrorCode::timeout);
  CHECK(slow_host.stop_all().ok());
}

TEST_CASE("request_stop from a handler ends the actor's loop") {
  ActorHost host;
  REQUIRE(host.add(std::make_unique<Echo>()).ok());
  REQUIRE(host.start_all().ok());
  {
    zmq::socket_t sock = driver(host, "echo");
    REQUIRE(send_message(sock, make_msg("quit")).ok());
  }
  CHECK(eventually([&] { return host.counters()[0].messages_in == 1; }));
  CHECK(host.stop_all().ok());
  REQUIRE(host.start_all().ok());  // restartable afterwards
  zmq::socket_t sock = driver(host, "echo");
  ping_pong(sock, 3, 0);
}

TEST_CASE("stop does not hang when a peer is gone or never existed") {
  SUBCASE("peer never existed") {
    // IMMEDIATE: no queue towards a peer that is not connected, so the first send blocks.
    ActorHost host;
    auto failed = std::make_shared<std::atomic<int>>(0);
    REQUIRE(host.add(std::make_unique<Forwarder>("tcp://127.0.0.1:9", 1, failed)).ok());
    REQUIRE(host.start_all().ok());
    zmq::socket_t sock = driver(host, "forwarder");
    REQUIRE(send_message(sock, make_msg("go")).ok());
    CHECK(eventually([&] { return host.counters()[0].messages_in == 1; }));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let it block in send
    const auto t0 = Clock::now();
    CHECK(host.stop_all().ok());
    CHECK(seconds_since(t0) < 1.0);
    CHECK(failed->load() == 1);
  }
  SUBCASE("peer went away with messages queued") {
    HostConfig peer_config;
    peer_config.endpoints["echo"] = "tcp://127.0.0.1:*";
    auto peer = std::make_unique<ActorHost>(peer_config);
    REQUIRE(peer->add(std::make_unique<Echo>()).ok());
    REQUIRE(peer->start_all().ok());
    const std::string ep = peer->endpoint("echo");
    ActorHost host;
    auto failed = std::make_shared<std::atomic<int>>(0);
    REQUIRE(host.add(std::make_unique<Forwarder>(ep, 200, failed)).ok());
    REQUIRE(host.start_all().ok());
    peer.reset();  // the peer process is gone
    zmq::socket_t sock = driver(host, "forwarder");
    REQUIRE(send_message(sock, make_msg("go")).ok());
    CHECK(eventually([&] { return host.counters()[0].messages_in == 1; }));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const auto t0 = Clock::now();
    CHECK(host.stop_all().ok());
    CHECK(seconds_since(t0) < 1.0);
    CHECK(failed->load() == 1);  // the blocked send gave up when told to stop
    CHECK(host.counters()[0].drops >= 1);
  }
}
