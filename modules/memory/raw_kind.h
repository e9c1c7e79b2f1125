// The "raw" memory kind (see raw_kind.cc for what it places where).
#pragma once

#include "modules/memory/memory_kind.h"

namespace engram {

// The registered instance.
const MemoryKind& raw_memory_kind();

}  // namespace engram
