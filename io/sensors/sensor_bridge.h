// The sensor bridge: a thread that receives sensor frames (sensor_frame.h) on a bound PULL
// socket, validates them, tracks per-source sequence gaps, and queues them for the learner.
//
// Overflow policy when the learner falls behind:
//   block        the bridge stops reading while its queue is full; ZeroMQ's high-water marks
//                then push back on the publishers (their sends block): nothing is lost.
//   drop_oldest  the bridge keeps reading and drops the oldest queued frame for each new one,
//                counting every drop.
// Malformed frames are counted and dropped; the bridge keeps going.
#pragma once

#include <zmq.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "io/sensors/curve_auth.h"
#include "io/sensors/sensor_frame.h"
#include "runtime/status.h"

namespace engram {

enum class OverflowPolicy { block, drop_oldest };

// "block" or "drop_oldest"; invalid_argument otherwise.
Expected<OverflowPolicy> parse_overflow_policy(const std::string& name);

struct SensorBridgeConfig {
  // Where publishers connect. Loopback unless configured; port 0 picks a free port
  // (endpoint() tells which).
  std::string endpoint = "tcp://127.0.0.1:5700";
  OverflowPolicy policy = OverflowPolicy::block;
  size_t queue_frames = 1024;  // frames held for the consumer, >= 1
  int receive_hwm = 1000;      // ZeroMQ receive high-water mark (messages)
  SensorLimits limits;
  // When enabled: frames are encrypted and only publishers whose public key is listed may
  // connect (curve_auth.h). Publishers then need the server's public key.
  CurveConfig curve;
};

// Every frame is accounted for; at any moment (one counters() call):
//   received = accepted + malformed + non_finite + out_of_range
//   accepted = learned + skipped + queued + held + dropped
struct SensorCounters {
  uint64_t received = 0;      // multiparts read from the socket
  uint64_t accepted = 0;      // valid frames queued
  uint64_t malformed = 0;     // refused: not the schema, or over a limit
  uint64_t non_finite = 0;    // refused: an f32 value is NaN or infinite
  uint64_t out_of_range = 0;  // refused: an f32 value is outside [0, 1]
  uint64_t dropped = 0;       // valid frames discarded by drop_oldest
  uint64_t learned = 0;       // frames a consumer trained on (settle())
  uint64_t skipped = 0;       // frames a consumer could not use, e.g. unlabelled (settle())
  uint64_t queued = 0;        // frames waiting now
  uint64_t held = 0;          // frames a consumer has taken and not yet settled or given back
  uint64_t gaps = 0;          // frames missing according to sequence numbers
  uint64_t out_of_order = 0;  // frames whose seq was not above the source's last
  uint64_t auth_denied = 0;   // CURVE connections refused (unknown client key)
  std::string last_error;     // why the last refused frame was refused
};

class SensorBridge {
 public:
  // Binds and starts the bridge thread. Errors: invalid_argument (config), io_error (bind).
  static Expected<std::unique_ptr<SensorBridge>> start(const SensorBridgeConfig& config);
  // Stops the thread and closes the socket (never hangs: linger 0).
  ~SensorBridge();

  // Moves up to `max` queued frames into *out (appended), waiting up to `timeout` for the first.
  // Returns how many were taken; they count as held until settle() or give_back(). Thread-safe.
  size_t pop(std::vector<SensorFrame>* out, size_t max, std::chrono::milliseconds timeout);
  // Returns taken frames, unused, to the head of the queue in their order (the next pop() gets
  // them first). Frames given back may make the queue exceed queue_frames until consumed.
  void give_back(std::vector<SensorFrame>&& frames);
  // Records the fate of frames taken: `learned` trained on, `skipped` unusable. Their sum must
  // not exceed the frames held (invalid_argument otherwise, nothing recorded).
  Status settle(uint64_t learned, uint64_t skipped);

  SensorCounters counters() const;
  // The bound endpoint, with the port the system chose when the configured one was 0.
  const std::string& endpoint() const { return endpoint_; }

 private:
  SensorBridge(const SensorBridgeConfig& config, zmq::context_t context,
               std::unique_ptr<CurveAuthenticator> auth, zmq::socket_t socket,
               std::string endpoint);
  void run();
  void accept(SensorFrame&& frame);
  void observe_sequence(const SensorFrame& frame);  // with mutex_ held

  SensorBridgeConfig config_;
  zmq::context_t context_;
  std::unique_ptr<CurveAuthenticator> auth_;  // null unless config_.curve.enabled
  zmq::socket_t socket_;
  std::string endpoint_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::condition_variable has_frames_, has_room_;
  std::deque<SensorFrame> queue_;
  SensorCounters counters_;  // queued is queue_.size(), filled in by counters()
  SequenceTracker sequences_;
  std::thread thread_;
};

}  // namespace engram
