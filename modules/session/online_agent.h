// An engram that learns from observations a host application hands it one at a time, on its
// own threads, and answers predictions on the host's thread. This is what the C API
// (bindings/c/engram.h) exposes; the header is free of LibTorch types.
//
// Threads: observe() copies into a preallocated ring and returns at once (or says full). A
// learning thread takes batches of `learning.batch` observations of one task from the ring
// and trains the session on them with recollections of earlier tasks. predict() runs on the
// caller's thread against a copy of the classifier that the learning thread refreshes every
// `learning.predict_refresh_ms`, so a prediction never waits for a training step. All
// methods are safe to call from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "modules/session/agent_config.h"
#include "runtime/status.h"

namespace engram {

enum class PixelEncoding { u8, f32 };  // u8: 0..255; f32: [0, 1]

struct AgentCounters {
  uint64_t observed = 0;               // accepted by observe()
  uint64_t rejected_full = 0;          // refused because the queue was full
  uint64_t rejected_invalid = 0;       // refused for a bad argument (all causes, the two below too)
  uint64_t rejected_non_finite = 0;    // of which: an f32 value was NaN or infinite
  uint64_t rejected_out_of_range = 0;  // of which: an f32 value was outside [0, 1]
  uint64_t learned = 0;                // observations trained on
  uint64_t batches = 0;                // training steps taken
  uint64_t predictions = 0;            // predict() calls answered
  uint64_t queued = 0;                 // observations waiting in the queue now
  uint64_t queue_capacity = 0;
  uint64_t model_updates = 0;             // times predict() picked up newer weights
  double loss_real = 0, loss_replay = 0;  // of the last training step
  uint64_t skipped_steps = 0;  // training steps not applied: loss or gradients not finite
};

class OnlineAgent {
 public:
  // Builds the session and starts learning. Errors: the session's (bad configuration,
  // unavailable device).
  static Expected<std::unique_ptr<OnlineAgent>> open(const AgentConfig& config);
  // An agent holding the state of a snapshot written by snapshot(): memory, weights, optimiser
  // state, counters, configuration. Everything is verified first; errors name the problem.
  static Expected<std::unique_ptr<OnlineAgent>> restore(const std::string& path);
  // Stops learning; observations still queued are discarded (call flush() first to keep them).
  // No other call may be in progress (the C API's engram_close waits for them: interrupt()).
  ~OnlineAgent();

  // Makes calls waiting in flush() or snapshot() return ErrorCode::closed now, and every later
  // observe(), flush() and snapshot() fail with closed: the first step of closing while other
  // threads may still be inside calls. Safe from any thread; idempotent.
  void interrupt();

  // Queues one labelled observation of rows*cols values (`count` must equal that) for task
  // `task`. Never waits: ErrorCode::full when the queue has no room (the observation is not
  // taken). Errors: invalid_argument (null data, wrong count, label or task out of range, f32
  // value outside [0, 1] or NaN), closed (learning stopped after a failure; the message says why).
  Status observe(const void* data, size_t count, PixelEncoding encoding, int label, int task);

  // Classifies one input of rows*cols values: *label receives the most probable class among
  // the classes learned so far; probs (if non-null) receives `probs_len` == classes
  // probabilities (0 for classes not learned yet). Errors: invalid_argument, not_found when
  // nothing has been learned yet.
  Status predict(const void* data, size_t count, PixelEncoding encoding, int* label, float* probs,
                 size_t probs_len);

  // Blocks until every observation accepted before the call has been trained on and
  // predictions use the result. Errors: timeout, closed.
  Status flush(double timeout_s);

  // flush(), then writes the whole learning state to `path` atomically. Observations accepted
  // after the call began may or may not be included. Errors: io_error, timeout, closed.
  Status snapshot(const std::string& path);

  // flush(), then a consolidation boundary (Session::consolidate): everything learned so far
  // becomes recallable. A task change makes one by itself; a stream without task ids needs
  // this to be replayed at all. Errors: timeout, closed, an actor failure.
  Status consolidate();

  AgentCounters counters() const;
  const AgentConfig& config() const;

 private:
  struct Impl;
  explicit OnlineAgent(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace engram
