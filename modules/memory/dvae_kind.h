// The "dvae" memory kind (see dvae_kind.cc for what it places where).
#pragma once

#include "modules/memory/memory_kind.h"

namespace engram {

// The registered instance.
const MemoryKind& dvae_memory_kind();

}  // namespace engram
