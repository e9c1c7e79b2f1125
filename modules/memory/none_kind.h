// The "none" memory kind (see none_kind.cc for what it places where).
#pragma once

#include "modules/memory/memory_kind.h"

namespace engram {

// The registered instance.
const MemoryKind& none_memory_kind();

}  // namespace engram
