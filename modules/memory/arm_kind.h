// The "arm" memory kind (see arm_kind.cc for what it places where).
#pragma once

#include "modules/memory/memory_kind.h"

namespace engram {

// The registered instance.
const MemoryKind& arm_memory_kind();

}  // namespace engram
