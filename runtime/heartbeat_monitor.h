// Heartbeats between a driver and a module actor served by another process (`engram serve`):
// a monitor thread pings the module and declares it lost when no answer came for a bounded time
// or its handshake is refused (e.g. CURVE keys that do not match), with a reason naming the
// module, so that the driver can stop with a clear error instead of waiting forever.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <zmq.hpp>

#include "runtime/actor.h"
#include "runtime/status.h"

namespace engram {

// Message types of a heartbeat: the monitor sends kPing, the served module answers kPong with
// strings module = its name, and ints messages_in, messages_out, bytes_in, bytes_out, errors
// (its actor's counters) and curve_denied (peers its CURVE handler refused). An answer with ints
// module_errors > 0 (the module failed handling a message; strings module_error says how) counts
// as a failure of the module, as a local actor's error does.
inline constexpr const char* kPing = "ping";
inline constexpr const char* kPong = "pong";

struct HeartbeatConfig {
  std::string module;     // the module's name (named in failures, checked against the answer)
  std::string endpoint;   // where the module is served, e.g. "tcp://127.0.0.1:5701"
  SocketOptions options;  // applied before connecting (CURVE client keys); may be empty
  std::chrono::milliseconds interval{500};
  std::chrono::milliseconds timeout{3000};  // no answer for this long: the module is lost
};

class HeartbeatMonitor {
 public:
  // Starts the monitor thread on its own ZeroMQ context. Errors: invalid_argument (an empty
  // module or endpoint, interval < 10 ms, timeout < 2 intervals), io_error from ZeroMQ.
  static Expected<std::unique_ptr<HeartbeatMonitor>> start(HeartbeatConfig config);
  // Stops and joins the thread (within one polling period, never waits for the module).
  ~HeartbeatMonitor();
  HeartbeatMonitor(const HeartbeatMonitor&) = delete;
  HeartbeatMonitor& operator=(const HeartbeatMonitor&) = delete;

  // "" while the module answers; once lost or failed, why (sticky): "module 'hippocampus' at
  // tcp://..: no heartbeat answer for 3.0 s (...)", "module 'association' at tcp://..: its
  // actor failed: ...". Any thread.
  std::string failure() const;
  // Whether an answer ever arrived. Any thread.
  bool answered() const { return answers_.load() > 0; }
  // The ints of the latest answer (the module's counters); empty before the first. Any thread.
  std::map<std::string, int64_t> last_report() const;

 private:
  explicit HeartbeatMonitor(HeartbeatConfig config);
  void run(zmq::socket_t sock, zmq::socket_t events);
  void fail(const std::string& why);

  HeartbeatConfig config_;
  zmq::context_t context_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> answers_{0};
  mutable std::mutex mu_;
  std::string failure_;
  std::map<std::string, int64_t> report_;
  std::thread thread_;
};

}  // namespace engram
