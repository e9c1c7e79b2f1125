// Per-actor counters: written by the actor thread, read from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace engram {

// A plain copy of an actor's counters at one moment.
struct CounterSnapshot {
  std::string actor;
  uint64_t messages_in = 0;   // envelopes received and decoded
  uint64_t messages_out = 0;  // envelopes sent
  uint64_t bytes_in = 0;      // wire bytes received, all frames
  uint64_t bytes_out = 0;     // wire bytes sent, all frames
  uint64_t errors = 0;        // handler failures, malformed input, failed sends
  uint64_t drops = 0;         // messages discarded: malformed input, sends that could not go out
  uint64_t queue_depth = 0;   // messages read at the last wake-up and not yet handled
};

// Relaxed atomics: each counter is exact, but a snapshot is not a consistent cut across them.
struct ActorCounters {
  std::atomic<uint64_t> messages_in{0};
  std::atomic<uint64_t> messages_out{0};
  std::atomic<uint64_t> bytes_in{0};
  std::atomic<uint64_t> bytes_out{0};
  std::atomic<uint64_t> errors{0};
  std::atomic<uint64_t> drops{0};
  std::atomic<uint64_t> queue_depth{0};

  // Copies every counter; safe from any thread.
  CounterSnapshot snapshot(const std::string& actor_name = "") const {
    constexpr auto relaxed = std::memory_order_relaxed;
    CounterSnapshot s;
    s.actor = actor_name;
    s.messages_in = messages_in.load(relaxed);
    s.messages_out = messages_out.load(relaxed);
    s.bytes_in = bytes_in.load(relaxed);
    s.bytes_out = bytes_out.load(relaxed);
    s.errors = errors.load(relaxed);
    s.drops = drops.load(relaxed);
    s.queue_depth = queue_depth.load(relaxed);
    return s;
  }
};

// Adds `n` to `counter` (relaxed: counters order nothing).
inline void bump(std::atomic<uint64_t>& counter, uint64_t n = 1) {
  counter.fetch_add(n, std::memory_order_relaxed);
}

}  // namespace engram
