// Learning from a sensor stream: frames from a SensorBridge become batches of one task that a
// Session learns, mixed with recollections, exactly as from a dataset. What engram.stream and
// rt:learn_stream do in Lua.
//
// Nothing accepted is lost: every frame taken from the bridge is learned exactly once, settled
// as skipped (unlabelled, not the runtime's image size, or a task id the runtime does not
// have), or given back to the head of the
// bridge's queue for the next call. The bridge's counters reconcile at any moment
// (sensor_bridge.h).
#pragma once

#include <chrono>
#include <cstdint>

#include "io/sensors/sensor_bridge.h"
#include "modules/session/session.h"
#include "runtime/status.h"

namespace engram {

struct StreamLearnOptions {
  int64_t batches = 100;  // batches to learn in this call, >= 1
  int batch = 32;         // frames per batch, >= 1
  int replay = 32;        // recollections per batch, >= 0
  // The call returns when no frame arrived for this long (a partial batch is then learned).
  std::chrono::milliseconds timeout{10000};
};

struct StreamLearnResult {
  int64_t batches = 0;     // batches learned
  int64_t frames = 0;      // frames learned
  int64_t skipped = 0;     // frames settled as unusable (no label, wrong size, task >= num_tasks)
  int64_t given_back = 0;  // frames taken but left for the next call
  int64_t skipped_steps = 0;  // training steps not applied: loss or gradients not finite
  double seconds = 0;
  double loss_real = 0;  // of the last batch
};

// Learns from `stream` until options.batches batches are learned or no frame arrives for
// options.timeout. A change of task id ends the current batch (frames without a task id are
// task 0). Errors: invalid_argument (options), the session's errors; on error, frames of the
// failed batch and any others taken are given back, so none is lost.
Expected<StreamLearnResult> learn_from_stream(Session& session, SensorBridge& stream,
                                              const StreamLearnOptions& options);

}  // namespace engram
