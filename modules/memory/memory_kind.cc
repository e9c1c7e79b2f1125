#include "modules/memory/memory_kind.h"

namespace engram {

CodeBufferConfig buffer_for(const CodeShape& shape, const MemoryBuildContext& context) {
  CodeBufferConfig bc;
  bc.c = shape.c;
  bc.l = shape.l;
  bc.num_classes = context.classes;
  bc.num_tasks = context.num_tasks;
  bc.budget_bytes = context.budget_bytes;
  bc.selector = context.selector;
  bc.seed = context.seed * 7919 + 2;
  return bc;
}

}  // namespace engram
