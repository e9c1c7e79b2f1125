// Events of a learning phase that a curriculum can follow (a Lua handler coroutine,
// bindings/lua/lua_events.h): every N examples learned, the stream went quiet, a new class or
// task appeared, the phase ended. The hook runs on the learning call's thread between batches,
// never per example, and may stop the phase or change the replay of the following batches.
// Used by learn_from_stream (modules/session/stream_learning.h), Session::learn and
// Session::consolidate.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "modules/session/replay_options.h"
#include "runtime/status.h"

namespace engram {

enum class LearningEventKind {
  examples,   // another `every` examples were learned
  quiet,      // a stream: no frame arrived for the quiet time (once per quiet spell)
  new_class,  // a class the session had never learned before appeared
  new_task,   // a task id the session had never learned before appeared
  phase_end,  // the phase (the call) is ending, not after an error
};

// "examples", "quiet", "new_class", "new_task", "phase_end" (the names scripts see).
const char* event_name(LearningEventKind kind);

struct LearningEvent {
  LearningEventKind kind = LearningEventKind::examples;
  // Examples learned by this call so far: frames of a stream, real examples of a learn()
  // phase, recollections of a consolidation phase.
  int64_t learned = 0;
  int64_t batches = 0;  // batches learned by this call so far
  // The task id of the batch just learned or about to be (examples, new_class, new_task); -1
  // for quiet and phase_end.
  int64_t task = -1;
  int64_t class_id = -1;  // new_class: the class; -1 otherwise
};

// What the hook wants after an event.
struct EventReply {
  bool stop = false;  // end the phase now: no further batch is sent
  // The replay options of the batches sent after this event (checked with validate() first).
  std::optional<ReplayOptions> replay;
};

// Runs on the calling thread, between batches. An error ends the call with that error.
using LearningEventHook = std::function<Expected<EventReply>(const LearningEvent&)>;

}  // namespace engram
