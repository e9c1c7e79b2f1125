#include "modules/session/learning_events.h"

namespace engram {

const char* event_name(LearningEventKind kind) {
  switch (kind) {
    case LearningEventKind::examples: return "examples";
    case LearningEventKind::quiet: return "quiet";
    case LearningEventKind::new_class: return "new_class";
    case LearningEventKind::new_task: return "new_task";
    case LearningEventKind::phase_end: return "phase_end";
  }
  return "?";
}

}  // namespace engram
