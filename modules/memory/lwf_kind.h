// The "lwf" memory kind (see lwf_kind.cc for what it places where).
#pragma once

#include "modules/memory/memory_kind.h"

namespace engram {

// The registered instance.
const MemoryKind& lwf_memory_kind();

}  // namespace engram
