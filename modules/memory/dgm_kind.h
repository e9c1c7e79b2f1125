// The "dgm" memory kind (see dgm_kind.cc for what it places where).
#pragma once

#include "modules/memory/memory_kind.h"

namespace engram {

// The registered instance.
const MemoryKind& dgm_memory_kind();

}  // namespace engram
