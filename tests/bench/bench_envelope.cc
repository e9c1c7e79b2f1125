// Envelope round trips per second against raw libzmq, same pattern: a driver DEALER sends a
// request carrying one payload, an echo on a ROUTER returns it, the driver waits for the reply.
//
//   engram: ActorHost + an echo actor; the driver uses send_message/recv_message with a
//           make_payload (zero-copy) frame; full envelope encode/decode on both sides.
//   raw:    a thread with a ROUTER echoing [id][payload]; the driver sends one zmq_msg built
//           with zmq_msg_init_data (also zero-copy), so the ratio isolates the envelope and
//           actor overhead.
// Prints figures only; asserts nothing about time.
#include <fmt/format.h>

#include <zmq.h>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "runtime/actor_host.h"

using namespace engram;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::chrono::milliseconds kRowTime{1500};
constexpr int kWarmup = 200;

class Echo : public ActorBehavior {
 public:
  std::string name() const override { return "echo"; }
  Status start(ActorContext& ctx) override {
    sock_ = ctx.add_socket(zmq::socket_type::router, true);
    return ctx.bind(sock_, ctx.own_endpoint());
  }
  Status on_message(ActorContext& ctx, SocketId, std::optional<std::string> rid,
                    Message&& msg) override {
    Message reply;
    reply.header.type = "pong";
    reply.header.ints["n"] = msg.header.ints["n"];
    reply.header.payloads = std::move(msg.header.payloads);
    reply.payloads = std::move(msg.payloads);
    return ctx.send_to(sock_, *rid, std::move(reply));
  }

 private:
  SocketId sock_ = 0;
};

struct Result {
  double round_trips_per_s = 0;
  long rounds = 0;
};

// Runs `one` (a full round trip) for kRowTime after a warm-up.
template <typename F>
Result time_rounds(F one) {
  for (int i = 0; i < kWarmup; ++i) {
    if (!one()) return {};
  }
  Result r;
  const auto t0 = Clock::now();
  auto now = t0;
  while (now - t0 < kRowTime) {
    for (int i = 0; i < 50; ++i) {
      if (!one()) return {};
      ++r.rounds;
    }
    now = Clock::now();
  }
  r.round_trips_per_s =
      static_cast<double>(r.rounds) / std::chrono::duration<double>(now - t0).count();
  return r;
}

Result bench_engram(const std::string& endpoint, size_t bytes) {
  HostConfig config;
  config.endpoints["echo"] = endpoint;
  ActorHost host(config);
  if (!host.add(std::make_unique<Echo>()).ok() || !host.start_all().ok()) return {};
  zmq::socket_t sock = host.make_socket(zmq::socket_type::dealer);
  sock.connect(host.endpoint("echo"));
  auto buffer = std::make_shared<std::vector<uint8_t>>(bytes, uint8_t{7});
  int64_t n = 0;
  Result r = time_rounds([&] {
    Message m;
    m.header.type = "ping";
    m.header.ints["n"] = ++n;
    add_payload(m, {DType::u8, {static_cast<int64_t>(bytes)}},
                make_payload(buffer, buffer->data(), buffer->size()));
    if (!send_message(sock, std::move(m)).ok()) return false;
    Expected<Message> reply = recv_message(sock);
    return reply.ok() && reply->payloads.size() == 1 && reply->payloads[0].size() == bytes;
  });
  sock.close();
  return r;
}

void noop_free(void*, void*) {}

Result bench_raw(const std::string& endpoint, size_t bytes) {
  void* ctx = zmq_ctx_new();
  void* router = zmq_socket(ctx, ZMQ_ROUTER);
  int linger = 0;
  zmq_setsockopt(router, ZMQ_LINGER, &linger, sizeof linger);
  zmq_bind(router, endpoint.c_str());
  char actual[256] = {};
  size_t actual_len = sizeof actual;
  zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, actual, &actual_len);
  // Echo thread: [id][payload] back to the sender; an empty payload ends it.
  std::thread echo([router] {
    for (;;) {
      zmq_msg_t id, payload;
      zmq_msg_init(&id);
      zmq_msg_init(&payload);
      if (zmq_msg_recv(&id, router, 0) < 0 || zmq_msg_recv(&payload, router, 0) < 0) break;
      const bool stop = zmq_msg_size(&payload) == 0;
      zmq_msg_send(&id, router, ZMQ_SNDMORE);
      zmq_msg_send(&payload, router, 0);
      zmq_msg_close(&id);
      zmq_msg_close(&payload);
      if (stop) break;
    }
    zmq_close(router);
  });
  void* dealer = zmq_socket(ctx, ZMQ_DEALER);
  zmq_setsockopt(dealer, ZMQ_LINGER, &linger, sizeof linger);
  zmq_connect(dealer, actual);
  std::vector<uint8_t> buffer(bytes, uint8_t{7});
  Result r = time_rounds([&] {
    zmq_msg_t out, in;
    zmq_msg_init_data(&out, buffer.data(), bytes, &noop_free, nullptr);
    if (zmq_msg_send(&out, dealer, 0) < 0) return false;
    zmq_msg_init(&in);
    const bool ok = zmq_msg_recv(&in, dealer, 0) == static_cast<int>(bytes);
    zmq_msg_close(&in);
    return ok;
  });
  zmq_send(dealer, "", 0, 0);
  char sink[1];
  zmq_recv(dealer, sink, sizeof sink, 0);
  echo.join();
  zmq_close(dealer);
  zmq_ctx_term(ctx);
  return r;
}

}  // namespace

int main() {
  const auto t0 = Clock::now();
  fmt::print("engram envelope round trips (driver DEALER -> echo ROUTER -> driver), {} ms/row\n",
             kRowTime.count());
  fmt::print("{:<8} {:>9} {:>14} {:>14} {:>11} {:>12}\n", "transport", "payload", "engram rt/s",
             "raw rt/s", "engram/raw", "engram MB/s");
  struct Row {
    const char* transport;
    const char* engram_ep;
    const char* raw_ep;
  };
  const Row rows[] = {{"inproc", "inproc://bench-echo", "inproc://bench-raw"},
                      {"tcp", "tcp://127.0.0.1:*", "tcp://127.0.0.1:*"}};
  for (const Row& row : rows) {
    for (size_t bytes : {size_t{784}, size_t{400} * 1000}) {
      const Result e = bench_engram(row.engram_ep, bytes);
      const Result r = bench_raw(row.raw_ep, bytes);
      const double ratio = r.round_trips_per_s > 0 ? e.round_trips_per_s / r.round_trips_per_s : 0;
      // Payload bytes moved per second, both directions.
      const double mb_s = e.round_trips_per_s * 2.0 * static_cast<double>(bytes) / 1e6;
      fmt::print("{:<8} {:>9} {:>14.0f} {:>14.0f} {:>11.2f} {:>12.1f}\n", row.transport,
                 bytes < 1000 ? fmt::format("{} B", bytes) : fmt::format("{} KB", bytes / 1000),
                 e.round_trips_per_s, r.round_trips_per_s, ratio, mb_s);
      std::fflush(stdout);
    }
  }
  fmt::print("total {:.1f} s\n", std::chrono::duration<double>(Clock::now() - t0).count());
  return 0;
}
