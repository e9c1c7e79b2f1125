// Learning from a sensor stream: frames from a SensorBridge become batches of one task that a
// Session learns, mixed with recollections, exactly as from a dataset. What engram.stream and
// rt:learn_stream do in Lua.
//
// Nothing accepted is lost: every frame taken from the bridge is learned exactly once, settled
// as skipped (unlabelled, not the runtime's image size, or a task id the runtime does not
// have), or given back to the head of the
// bridge's queue for the next call. The bridge's counters reconcile at any moment
// (sensor_bridge.h).
//
// Events: a curriculum may follow the stream through an event hook (StreamLearnOptions::
// on_event) that the call runs between batches, never per frame: every N frames learned, when
// the stream went quiet, when a class or task appears for the first time, and when the call
// ends. The hook may change the replay of the following batches or stop the call.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>

#include "io/sensors/sensor_bridge.h"
#include "modules/session/learning_events.h"
#include "modules/session/replay_options.h"
#include "modules/session/session.h"
#include "runtime/status.h"

namespace engram {

// Replay options of `n` uniform recollections per batch.
inline ReplayOptions replay_per_batch(int n) {
  ReplayOptions r;
  r.per_batch = n;
  return r;
}

struct StreamLearnResult;

struct StreamLearnOptions {
  int64_t batches = 100;  // batches to learn in this call, >= 1
  int batch = 32;         // frames per batch, >= 1
  // Recollections mixed into each batch and how they are drawn (32 uniform by default).
  ReplayOptions replay = replay_per_batch(32);
  // The call returns when no frame arrived for this long (a partial batch is then learned).
  std::chrono::milliseconds timeout{10000};

  // --- events (all off unless on_event is set) ---
  // An `examples` event each time the frames learned by this call pass another multiple of
  // this (at most one event per batch); 0 = none.
  int64_t every_examples = 0;
  // A `quiet` event when no frame arrived for this long; 0 = none. Must be below `timeout`.
  // The partial batch gathered so far is learned first; the call then goes on waiting for
  // frames until `timeout` (measured from the last frame), unless the hook stops it.
  std::chrono::milliseconds quiet{0};
  // Called for every event in the order they happen: for a batch, new_task, then new_class
  // (ascending class ids), then examples. Nothing after a reply with stop = true except
  // phase_end, which always comes last unless the call failed.
  LearningEventHook on_event;

  // Progress (no effect on learning): called after every batch learned with the figures so far
  // (batches, frames, loss_real of that batch, ...). Must not throw.
  std::function<void(const StreamLearnResult&)> on_batch;
};

struct StreamLearnResult {
  int64_t batches = 0;     // batches learned
  int64_t frames = 0;      // frames learned
  int64_t skipped = 0;     // frames settled as unusable (no label, wrong size, task >= num_tasks)
  int64_t given_back = 0;  // frames taken but left for the next call
  int64_t skipped_steps = 0;  // training steps not applied: loss or gradients not finite
  double seconds = 0;
  double loss_real = 0;  // of the last batch
  int64_t recalled = 0;  // recollections trained on alongside the frames
  int64_t events = 0;    // events passed to on_event
  bool stopped = false;  // on_event asked to stop
};

// Learns from `stream` until options.batches batches are learned, no frame arrives for
// options.timeout, or the event hook says stop. A change of task id ends the current batch
// (frames without a task id are task 0). Errors: invalid_argument (options, or replay options
// the hook asked for that validate() refuses), the session's errors, the hook's errors; on error,
// frames of the failed batch and any others taken are given back, so none is lost (batches learned
// before the error stay learned).
Expected<StreamLearnResult> learn_from_stream(Session& session, SensorBridge& stream,
                                              const StreamLearnOptions& options);

}  // namespace engram
